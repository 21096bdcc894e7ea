import { test, expect } from '@playwright/test';
import { logIn } from './helpers';

// The wasm carries no tz database (src/domain/intl.rs): as you type, the booking form checks
// zones and daylight-saving gaps with the browser's own (Intl), and the server checks again.
test("the booking form checks zones and DST gaps with the browser's own time zones", async ({ page }) => {
  await logIn(page, 'patient', '/visits');
  const form = page.getByTestId('booking-form');
  const start = form.getByLabel('Date and time');
  const zone = form.getByLabel('Time zone of that time');
  const preview = form.getByTestId('start-preview');

  await zone.fill('Mars/Base');
  await expect(form.getByText('Unknown time zone')).toBeVisible();

  await zone.fill('Europe/Berlin');
  // Berlin's clocks jump from 02:00 to 03:00 on 29 March 2026.
  await start.fill('2026-03-29T02:30');
  await expect(form.getByText('02:30 on 2026-03-29 does not exist in Europe/Berlin')).toBeVisible();
  // 02:30 happens twice on 25 October 2026: the first one, still on summer time (+2).
  await start.fill('2026-10-25T02:30');
  await expect(preview).toHaveText('Starts Sun 25 Oct 2026, 02:30 GMT+2');
  await start.fill('2026-11-24T09:30');
  await expect(preview).toHaveText('Starts Tue 24 Nov 2026, 09:30 GMT+1');

  await zone.fill('America/New_York');
  await expect(preview).toHaveText('Starts Tue 24 Nov 2026, 09:30 EST');
  await expect(form.getByText('Unknown time zone')).toHaveCount(0);
});
