import { html } from 'lit';

/** Inline SVG icons. All are decorative: the control they sit in carries the accessible name. */

/** The Deskline mark, the same drawing as public/favicon.svg. */
export const logoMark = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
  <rect width="24" height="24" rx="5" fill="#0a5ca8" />
  <path d="M8 6.5h4a5.5 5.5 0 0 1 0 11H8z" fill="none" stroke="#fff" stroke-width="2.5" stroke-linejoin="round" />
</svg>`;

export const chevronDown = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
  <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
</svg>`;
