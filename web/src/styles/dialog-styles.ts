import { css } from 'lit';

/** A native modal <dialog> raised above the page; each dialog sets its own width and padding. */
export const dialogStyles = css`
  dialog {
    box-sizing: border-box;
    border: 1px solid var(--dl-color-border);
    border-radius: calc(var(--dl-radius) * 1.5);
    background: var(--dl-color-surface);
    color: var(--dl-color-text);
    box-shadow: var(--dl-shadow-popup);
  }
`;
