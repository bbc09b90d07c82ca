import type { Locator, Page } from 'playwright-core';

/** The call board in a page, found as a person finds it: the region named "Call board". */
export function board(page: Page): Locator {
  return page.getByRole('region', { name: 'Call board' });
}

/** Opens a tab of the board ("Pending", "On the line", "Closed", "Unanswered", "Abandoned"); its name carries a count. */
export async function openTab(page: Page, tab: string): Promise<void> {
  await board(page)
    .getByRole('tab', { name: new RegExp(`^${tab}`) })
    .click();
}

/** A patient's task in the board's open tab, by the number it shows. */
export function taskOf(page: Page, number: string): Locator {
  return board(page).getByRole('tabpanel').getByRole('article', { name: number });
}
