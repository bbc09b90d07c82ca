import { css } from 'lit';
import {
  alertStyles,
  cardStyles,
  controlStyles,
  fieldStyles,
  primaryButtonStyles,
  secondaryButtonStyles,
  successStyles,
} from './shared-styles.js';

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

/** A managers' panel that edits something: the panel, its fields and buttons, an alert and a "done" status. */
export const formPanelStyles = [
  controlStyles,
  panelStyles,
  fieldStyles,
  alertStyles,
  successStyles,
  primaryButtonStyles,
  secondaryButtonStyles,
];
