import type { PublicUser } from '@deskline/protocol';
import { html } from 'lit';

/** "Anna Maria Berg" → "AB"; a single word gives one letter. */
export function initials(displayName: string): string {
  const words = displayName
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const picked = words.length > 1 ? [words[0], words.at(-1)] : words;
  const letters = picked.map((word) => [...(word ?? '')][0] ?? '').join('');
  return letters === '' ? '?' : letters.toLocaleUpperCase();
}

/**
 * A user's picture, or their initials when they have none, in an element of class `avatar` (the
 * element that uses it styles that class). Decorative: the name is always shown or read beside it.
 */
export function userAvatar(user: Pick<PublicUser, 'displayName' | 'avatarUrl'>) {
  return user.avatarUrl
    ? html`<img class="avatar" src=${user.avatarUrl} alt="" width="256" height="256" />`
    : html`<span class="avatar" aria-hidden="true">${initials(user.displayName)}</span>`;
}
