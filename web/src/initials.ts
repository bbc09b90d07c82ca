/** "Anna Maria Berg" → "AB"; a single word gives one letter. What an avatar shows without a picture. */
export function initials(displayName: string): string {
  const words = displayName.trim().split(/\s+/).filter((word) => word !== '');
  const picked = words.length > 1 ? [words[0], words.at(-1)] : words;
  const letters = picked.map((word) => [...(word ?? '')][0] ?? '').join('');
  return letters === '' ? '?' : letters.toLocaleUpperCase();
}
