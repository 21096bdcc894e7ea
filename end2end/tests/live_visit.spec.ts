import { test, expect, APIRequestContext } from '@playwright/test';
import { apiLogIn, hydrated, logIn, resetZoom } from './helpers';

// The Zoom simulator (scripts/e2e.sh passes its address and points its webhooks at the app).
const simUrl = process.env.SIM_URL ?? 'http://127.0.0.1:3002';

type SimMeeting = { id: number; host_email: string; deleted: boolean; topic?: string };

async function simMeetings(): Promise<SimMeeting[]> {
  const res = await fetch(`${simUrl}/_sim/meetings`);
  expect(res.ok).toBeTruthy();
  return (await res.json()) as SimMeeting[];
}

async function bookSoon(api: APIRequestContext): Promise<string> {
  const options = await (await api.post('/api/visits/options')).json();
  const doctor = options.doctors.find((d: { label: string }) => d.label.includes('doctor@demo.clinic'));
  const patient = options.patients.find((p: { label: string }) => p.label.includes('patient@demo.clinic'));
  // Five minutes ahead: the join window (15 minutes before the start) is open at once.
  const start = new Date(Date.now() + 5 * 60_000).toISOString().slice(0, 16);
  const res = await api.post('/api/visits/book', {
    form: { doctor_id: doctor.id, patient_id: patient.id, start, zone: 'UTC', duration: '30' },
  });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).id;
}

// A patient joins, Zoom says they wait, the doctor's open day view says so without a reload;
// Start admits them, both pages show the visit in progress, and ending it shows it ended.
test('the doctor sees the patient waiting, starts, and both see the visit in progress and ended', async ({ page, browser, playwright }, testInfo) => {
  test.setTimeout(90_000);
  expect((await fetch(`${simUrl}/_sim/reset`, { method: 'POST' })).ok).toBeTruthy();
  const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
  await resetZoom(api);

  // The doctor connects Zoom and keeps the day view open.
  await logIn(page, 'doctor', '/zoom');
  await page.getByRole('link', { name: /Connect Zoom/ }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => url.pathname === '/zoom');

  await apiLogIn(api, 'receptionist');
  const id = await bookSoon(api);
  await page.goto('/');
  await hydrated(page);
  const row = page.locator(`[data-testid=day-row][data-visit="${id}"]`);
  await expect(row.getByTestId('day-start')).toBeVisible({ timeout: 20_000 });
  await expect(row.getByTestId('live-state')).toHaveAttribute('data-state', 'scheduled');

  // The patient, in their own browser, joins: Zoom's waiting room.
  const patientContext = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  const patient = await patientContext.newPage();
  await logIn(patient, 'patient', `/visits/${id}`);
  await hydrated(patient);
  await patient.getByTestId('join').click();
  await patient.waitForURL((url) => url.href.startsWith(simUrl));

  // 10 s: well under the pages' one-minute fallback re-read, so only a push gets there in
  // time, with room for a machine busy with other builds (2 s failed there).
  await expect(row.getByTestId('live-state')).toHaveAttribute('data-state', 'waiting', { timeout: 10_000 });
  await expect(row.getByTestId('live-state')).toContainText(/patient waiting since \d\d:\d\d/);
  await expect(page).toHaveTitle(/Patient waiting/);

  // Start admits the patient.
  await row.getByTestId('day-start').click();
  await page.waitForURL((url) => url.href.startsWith(simUrl));
  await page.goto('/');
  await hydrated(page);
  await expect(row.getByTestId('live-state')).toHaveAttribute('data-state', 'in_progress', { timeout: 5_000 });
  await patient.goto(`/visits/${id}`);
  await hydrated(patient);
  await expect(patient.getByTestId('live-state')).toContainText('in progress', { timeout: 5_000 });

  // The doctor ends the meeting in Zoom: both pages follow without a reload.
  const meeting = (await simMeetings()).find((m) => !m.deleted && m.host_email === 'doctor@demo.clinic');
  expect(meeting, 'the visit has its meeting in the simulator').toBeTruthy();
  const ended = await fetch(`${simUrl}/_sim/meetings/${meeting!.id}/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'ended' }),
  });
  expect(ended.ok).toBeTruthy();
  await expect(row.getByTestId('live-state')).toHaveAttribute('data-state', 'ended', { timeout: 10_000 });
  await expect(patient.getByTestId('live-state')).toContainText('ended', { timeout: 10_000 });

  await apiLogIn(api, 'receptionist');
  await api.post('/api/visits/cancel', { form: { id } });
  await resetZoom(api);
  await api.dispose();
  await patientContext.close();
});
