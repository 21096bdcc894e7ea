import { test, expect, APIRequestContext } from '@playwright/test';
import { accounts, apiLogIn, hydrated, logIn } from './helpers';

/** A wall-clock time as a datetime-local input takes it, in UTC. */
function utcInput(at: Date): string {
  return at.toISOString().slice(0, 16);
}

async function bookToday(api: APIRequestContext): Promise<string> {
  const options = await (await api.post('/api/visits/options')).json();
  const doctor = options.doctors.find((d: { label: string }) => d.label.includes('doctor@demo.clinic'));
  const patient = options.patients.find((p: { label: string }) => p.label.includes('patient@demo.clinic'));
  // A few minutes ahead: still today unless the run starts in the last minutes of the day.
  const start = utcInput(new Date(Date.now() + 5 * 60_000));
  const res = await api.post('/api/visits/book', {
    form: { doctor_id: doctor.id, patient_id: patient.id, start, zone: 'UTC', duration: '30' },
  });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).id;
}

test("the doctor's day view follows reception's changes without a reload", async ({ page, playwright }, testInfo) => {
  await logIn(page, 'doctor');
  await hydrated(page);
  await expect(page.getByTestId('day-view')).toBeVisible();

  const desk = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
  await apiLogIn(desk, 'receptionist');
  const id = await bookToday(desk);
  const row = page.locator(`[data-testid=day-row][data-visit="${id}"]`);
  // Pushed: the pages' fallback re-read runs once a minute, so this is the stream at work.
  await expect(row).toBeVisible({ timeout: 3_000 });
  await expect(row.getByTestId('live-state')).toHaveText('scheduled');

  const cancelled = await desk.post('/api/visits/cancel', { form: { id } });
  expect(cancelled.status()).toBe(200);
  await expect(row).toHaveCount(0, { timeout: 3_000 });
  await desk.dispose();
});

test('the visit list follows changes made elsewhere without a reload', async ({ page, playwright }, testInfo) => {
  await logIn(page, 'patient', '/visits');
  await hydrated(page);
  const desk = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
  await apiLogIn(desk, 'receptionist');
  const id = await bookToday(desk);
  await expect(page.locator(`[data-testid=visit-row][data-visit="${id}"]`)).toBeVisible({ timeout: 3_000 });
  await desk.dispose();
});

// A change made after the page was rendered but before its stream was open is not pushed to
// it (the stream did not exist yet): the page must re-read when the stream opens, not a minute
// later. The stream is held back until the change is made, so the window is always hit.
test('a change made before the stream opened still reaches the open page', async ({ page, playwright }, testInfo) => {
  let release!: () => void;
  const changed = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/events', async (route) => {
    await changed;
    await route.continue();
  });
  await logIn(page, 'patient', '/visits');
  await hydrated(page);

  const desk = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
  await apiLogIn(desk, 'receptionist');
  const id = await bookToday(desk);
  const row = page.locator(`[data-testid=visit-row][data-visit="${id}"]`);
  await expect(row).toHaveCount(0);
  release();
  // Well under the one-minute fallback re-read: only the stream's opening explains it.
  await expect(row).toBeVisible({ timeout: 5_000 });
  await desk.post('/api/visits/cancel', { form: { id } });
  await desk.dispose();
});

test('the time-zone field offers the IANA zones and starts with the browser zone', async ({ browser }, testInfo) => {
  const context = await browser.newContext({ timezoneId: 'Asia/Tokyo', baseURL: testInfo.project.use.baseURL });
  const page = await context.newPage();
  await logIn(page, 'admin', '/admin/users');
  await hydrated(page);
  const form = page.getByTestId('new-user-form');
  const zone = form.getByLabel('Time zone');
  await expect(zone).toHaveValue('Asia/Tokyo');
  const listId = await zone.getAttribute('list');
  await expect(page.locator(`datalist#${listId} option[value="America/New_York"]`)).toHaveCount(1);
  await context.close();
});

test('an idle tab is warned, can stay, and is then signed out', async ({ browser }) => {
  test.setTimeout(120_000);
  const idleUrl = process.env.IDLE_URL;
  expect(idleUrl, 'scripts/e2e.sh starts the short-idle server').toBeTruthy();
  const context = await browser.newContext({ baseURL: idleUrl });
  const page = await context.newPage();
  await expect.poll(async () => (await context.request.get('/healthz')).status(), { timeout: 30_000 }).toBe(200);
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(accounts.patient.email);
  await page.getByLabel('Password').fill(accounts.patient.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.goto('/visits');
  await hydrated(page);

  // The idle timeout is 20 s: the warning shows in the last 10, with the open stream alone.
  const warning = page.getByTestId('idle-warning');
  await expect(warning).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('stay-signed-in').click();
  await expect(warning).toBeHidden();
  // Nothing more happens in the tab: warned again, then signed out.
  await expect(warning).toBeVisible({ timeout: 30_000 });
  await page.waitForURL((url) => url.pathname === '/login', { timeout: 30_000 });
  const res = await context.request.post('/api/visits/list');
  expect(res.status()).toBe(401);
  await context.close();
});
