import { css } from 'lit';
import { cardStyles } from './shared-styles.js';

/**
 * A panel of the work area (a picker, a status, an admin view): a `.card` whose parts stand in a
 * column, under an `h2` title. An element's own styles come after, so it may space or size them
 * otherwise.
 */
export const panelStyles = [
  cardStyles,
  css`
    :host {
      display: block;
    }

    .card {
      display: grid;
      gap: 1rem;
    }

    h2 {
      margin: 0;
      font-size: 1.125rem;
    }
  `,
];
