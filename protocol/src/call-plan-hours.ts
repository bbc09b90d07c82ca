import { WEEKDAYS, type CallPlan, type Closure, type Weekday } from './call-plan.js';

/** Whether the clinic answers at `at` (minimal version for the sip app's branch; the settings helper's replaces it). */
export type Opening = { open: true; closesAt?: number } | { open: false; closure?: Closure; opensAt?: number };

/** The plan's hours and closures at `at`, read in `timeZone` (CLINIC_TIME_ZONE). */
export function openingAt(plan: Pick<CallPlan, 'hours' | 'closures'>, timeZone: string, at: Date): Opening {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  ) as Record<string, string>;
  const date = `${parts['year']}-${parts['month']}-${parts['day']}`;
  const closure = plan.closures.find((c) => c.from <= date && date <= c.to);
  if (closure) return { open: false, closure };
  const day = (parts['weekday'] ?? '').toLowerCase().slice(0, 3) as Weekday;
  if (!WEEKDAYS.includes(day)) return { open: false };
  const time = `${parts['hour']}:${parts['minute']}`;
  const open = plan.hours[day].some((interval) => interval.start <= time && time < interval.end);
  return open ? { open: true } : { open: false };
}
