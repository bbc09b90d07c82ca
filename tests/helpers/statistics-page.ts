import type { Page } from 'playwright-core';

/**
 * The statistics view's "Calls not answered" table, as a manager reads it: each way of not being
 * answered (its row header) with its count, as shown. Waits for the table up to `timeoutMs`.
 */
export async function notAnsweredCounts(page: Page, timeoutMs: number): Promise<Record<string, string | undefined>> {
  const reasons = page.getByRole('table', { name: /^Calls not answered on / });
  await reasons.waitFor({ timeout: timeoutMs });
  return Object.fromEntries(
    await reasons
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader') })
      .evaluateAll((rows) =>
        rows.map((row) => [
          row.querySelector('th')?.textContent?.trim() ?? '',
          row.querySelector('td')?.textContent?.trim(),
        ]),
      ),
  );
}
