import { test, expect, Page } from '@playwright/test';
import { hydrated, logIn } from './helpers';

// The Zoom simulator's test controls (scripts/e2e.sh passes its address).
const simUrl = process.env.SIM_URL ?? 'http://127.0.0.1:3002';

async function hostSettings(settings: Record<string, unknown>) {
  const res = await fetch(`${simUrl}/_sim/host-settings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'doctor@demo.clinic', settings }),
  });
  expect(res.ok).toBeTruthy();
}

const friendly = { auto_recording: 'none', locked: [] };

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
}

/** Connects the demo doctor's Zoom if it is not connected (this file runs on its own too). */
async function connectDoctor(page: Page) {
  await logIn(page, 'doctor', '/zoom');
  await hydrated(page);
  await expect(page.getByTestId('zoom-status')).toBeVisible();
  const connect = page.getByRole('link', { name: /Connect Zoom/ });
  if (await connect.count()) {
    await connect.click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.pathname === '/zoom');
    await hydrated(page);
  }
  await expect(page.getByTestId('zoom-status')).toContainText('Connected as doctor@demo.clinic');
  await logOut(page);
}

// A clinic whose Zoom account records every meeting: pre-flight names it, a locked setting
// blocks the visit for the patient and tells the doctor what to change, fixing it unblocks.
test.describe.serial('The privacy contract at Zoom', () => {
  let visitId = '';

  test.beforeAll(async () => {
    await hostSettings(friendly);
  });

  test.afterAll(async () => {
    await hostSettings(friendly);
  });

  test('the admin sees a conflict in Test connection', async ({ page }) => {
    await connectDoctor(page);
    await hostSettings({ auto_recording: 'cloud' });
    await logIn(page, 'admin', '/admin/zoom');
    await hydrated(page);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('test-result')).toContainText('Connected as');
    await expect(page.getByTestId('test-conflicts')).toContainText('recording is on by default');
    await expect(page.getByTestId('test-conflicts')).toContainText('Settings > Recording');
  });

  test('a visit whose recording the account locks on is blocked, and the doctor sees what to change', async ({ page }) => {
    await hostSettings({ auto_recording: 'cloud', locked: ['auto_recording'] });
    await logIn(page, 'receptionist', '/visits');
    const options = await (await page.request.post('/api/visits/options')).json();
    const doctor = options.doctors.find((d: { label: string }) => d.label.includes('doctor@demo.clinic'));
    const patient = options.patients.find((p: { label: string }) => p.label.includes('patient@demo.clinic'));
    // Two days ahead: after any visit another file books for today.
    const start = new Date(Date.now() + 2 * 24 * 3600_000).toISOString().slice(0, 16);
    const booked = await page.request.post('/api/visits/book', {
      form: { doctor_id: doctor.id, patient_id: patient.id, start, zone: 'UTC', duration: '30' },
    });
    expect(booked.ok()).toBeTruthy();
    visitId = (await booked.json()).id;
    await logOut(page);

    await logIn(page, 'doctor', `/visits/${visitId}`);
    await hydrated(page);
    await expect(page.getByTestId('meeting-state')).toHaveText('blocked', { timeout: 20_000 });
    await expect(page.getByTestId('meeting-reason')).toContainText('recording is on');
    await expect(page.getByTestId('meeting-reason')).toContainText('Settings > Recording > Automatic recording');
    await expect(page.getByTestId('start')).toHaveCount(0);
  });

  test('the patient sees "your visit is being prepared" instead of a link', async ({ page }) => {
    await logIn(page, 'patient', `/visits/${visitId}`);
    await hydrated(page);
    await expect(page.getByTestId('being-prepared')).toContainText('Your visit is being prepared');
    await expect(page.getByTestId('join')).toHaveCount(0);
    expect(await page.content()).not.toContain('/j/');
  });

  test('unlocked at Zoom and rechecked by the admin, the visit is ready', async ({ page }) => {
    await hostSettings(friendly);
    await logIn(page, 'admin', '/admin/zoom');
    await hydrated(page);
    await page.getByTestId('recheck').click();
    await expect(page.getByTestId('recheck-result')).toContainText('being checked again');
    await page.goto(`/visits/${visitId}`);
    await hydrated(page);
    await expect(page.getByTestId('meeting-state')).toHaveText('ready', { timeout: 20_000 });
    // Leave the clinic as the other files expect: no visit of ours, the doctor disconnected.
    await page.getByTestId('cancel').click();
    await expect(page.getByTestId('meeting-state')).toHaveText(/cancel/, { timeout: 20_000 });
    await logOut(page);
    await logIn(page, 'doctor', '/zoom');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await expect(page.getByTestId('zoom-status')).toHaveText('Not connected');
  });
});
