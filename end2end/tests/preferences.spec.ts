import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { apiLogIn, hydrated, logIn, resetZoom } from './helpers';

// The Zoom simulator's test controls (scripts/e2e.sh passes its address).
const simUrl = process.env.SIM_URL ?? 'http://127.0.0.1:3002';

type SimMeeting = { id: number; host_email: string; duration: number; mute_upon_entry: boolean; deleted: boolean };

async function simMeetings(): Promise<SimMeeting[]> {
  const res = await fetch(`${simUrl}/_sim/meetings`);
  expect(res.ok).toBeTruthy();
  return (await res.json()) as SimMeeting[];
}

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
}

/** The demo doctor's preferences and the clinic's defaults as demo mode starts them. */
async function defaultPreferences(api: APIRequestContext) {
  await apiLogIn(api, 'admin');
  const clinic = await api.post('/api/admin/preferences/save', {
    form: {
      visit_minutes: '30', host_video: 'true', participant_video: 'true', mute_upon_entry: 'false',
      reminder_leads: '24h, 15m',
      doctor_may_change: 'visit_minutes,host_video,participant_video,mute_upon_entry,reminder_leads',
    },
  });
  expect(clinic.status(), 'saving the clinic defaults').toBe(200);
  await apiLogIn(api, 'doctor');
  const mine = await api.post('/api/preferences/save', {
    form: {
      visit_minutes: '30', host_video: 'true', participant_video: 'true', mute_upon_entry: 'false',
      reminder_leads: '24h, 15m',
    },
  });
  expect(mine.status(), 'saving the doctor preferences').toBe(200);
  await api.post('/api/auth/logout');
}

// The doctor mutes patients on entry and sets 45-minute visits; reception books a visit with
// that doctor (the form preselects 45 minutes) and Zoom's meeting mutes patients on entry.
test.describe.serial("A doctor's preferences", () => {
  let visitId = '';

  test.beforeAll(async ({ playwright }, testInfo) => {
    // This file starts from a fresh simulator and the default preferences.
    expect((await fetch(`${simUrl}/_sim/reset`, { method: 'POST' })).ok).toBeTruthy();
    const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
    await resetZoom(api);
    await defaultPreferences(api);
    await api.dispose();
  });

  test.afterAll(async ({ playwright }, testInfo) => {
    const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
    if (visitId) {
      await apiLogIn(api, 'receptionist');
      await api.post('/api/visits/cancel', { form: { id: visitId } });
    }
    await defaultPreferences(api);
    await resetZoom(api);
    await api.dispose();
  });

  test('the doctor connects Zoom and mutes patients on entry', async ({ page }) => {
    await logIn(page, 'doctor', '/zoom');
    await page.getByRole('link', { name: /Connect Zoom/ }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.pathname === '/zoom');
    await hydrated(page);
    await expect(page.getByTestId('zoom-status')).toContainText('Connected as doctor@demo.clinic');

    const form = page.getByTestId('my-preferences-form');
    // The privacy contract is not offered.
    for (const name of [/record/i, /AI Companion/i, /waiting room/i, /passcode/i, /before host/i]) {
      await expect(form.getByLabel(name)).toHaveCount(0);
    }
    const muted = form.getByLabel('Patients muted on entry');
    await expect(muted).not.toBeChecked();
    await muted.check();
    await form.getByLabel('Default visit length (minutes)').fill('45');
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await expect(page.getByTestId('preferences-saved')).toBeVisible();
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('my-preferences-form').getByLabel('Patients muted on entry')).toBeChecked();
    await logOut(page);
  });

  test("reception books with the doctor's length preselected, and Zoom mutes patients on entry", async ({ page }) => {
    await logIn(page, 'receptionist', '/visits');
    await hydrated(page);
    const form = page.getByTestId('booking-form');
    await form.getByLabel('Doctor').selectOption({ label: 'Dr. Ada Lovelace (doctor@demo.clinic)' });
    await expect(form.getByLabel('Length (minutes)')).toHaveValue('45');
    await form.getByLabel('Patient').selectOption({ label: 'patient@demo.clinic' });
    await form.getByLabel('Time zone of that time').fill('UTC');
    // Three days ahead, a whole hour: clear of what other files book.
    const start = new Date(Math.ceil((Date.now() + 3 * 24 * 3600_000) / 3600_000) * 3600_000);
    await form.getByLabel('Date and time').fill(start.toISOString().slice(0, 16));
    const booking = page.waitForResponse(
      (r) => r.url().endsWith('/api/visits/book') && r.request().method() === 'POST',
    );
    await form.getByRole('button', { name: 'Book visit' }).click();
    await expect(page.getByTestId('booked')).toBeVisible();
    visitId = (await (await booking).json()).id ?? '';
    const row = page.locator(`[data-visit="${visitId}"]`);
    await expect(row.getByTestId('meeting-state')).toHaveText('ready', { timeout: 20_000 });

    await expect
      .poll(async () => {
        const ours = (await simMeetings()).filter(
          (m) => !m.deleted && m.host_email === 'doctor@demo.clinic' && m.duration === 45,
        );
        return ours.map((m) => m.mute_upon_entry);
      })
      .toEqual([true]);
  });
});
