import { test, expect, Page } from '@playwright/test';
import { hydrated, logIn, resetZoom, unique } from './helpers';

/** A wall-clock time as a datetime-local input takes it, in `zone`. */
function localInput(at: Date, zone: string): string {
  // Swedish formatting is ISO-like: "2026-11-22 23:45".
  const text = new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(at);
  return text.replace(' ', 'T');
}

function clock(at: Date, zone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(at);
}

// New on every run, so a second run against the same server does not meet the first one's.
const otherPatient = { email: `other.patient.${unique()}@demo.clinic`, password: 'other patient password' };

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
}

// One story, in order: reception books, the doctor starts, the patient joins, another
// patient sees nothing, the admin reads the audit log. It sets Zoom up itself first, so it
// does not depend on what the other files did or in which order they ran.
test.describe.serial('Video visits', () => {
  // Chosen when the visit is booked (not when the file loads): ten minutes ahead, so the join
  // window (15 minutes before the start until its end, 30 minutes later) stays open for the
  // next 40 minutes of the story.
  let start = new Date();
  let visitId = '';

  test.beforeAll(async ({ playwright }, testInfo) => {
    const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
    await resetZoom(api);
    await api.dispose();
  });

  test('the doctor connects Zoom', async ({ page }) => {
    await logIn(page, 'doctor', '/zoom');
    await page.getByRole('link', { name: /Connect Zoom/ }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.pathname === '/zoom');
    await hydrated(page);
    await expect(page.getByTestId('zoom-status')).toContainText('Connected as doctor@demo.clinic');
  });

  test('the receptionist books a visit, with the form checking as she types', async ({ page }) => {
    await logIn(page, 'receptionist', '/visits');
    const form = page.getByTestId('booking-form');
    await form.getByLabel('Doctor').selectOption({ label: 'Dr. Ada Lovelace (doctor@demo.clinic)' });
    await form.getByLabel('Patient').selectOption({ label: 'patient@demo.clinic' });
    // Choosing the patient sets the zone to theirs.
    await expect(form.getByLabel('Time zone of that time')).toHaveValue('America/New_York');
    await form.getByLabel('Length (minutes)').fill('3');
    await expect(form.getByText('A visit lasts between 5 and 240 minutes.')).toBeVisible();
    await form.getByLabel('Length (minutes)').fill('30');
    await expect(form.getByText('A visit lasts between 5 and 240 minutes.')).toBeHidden();
    // A whole minute, ten minutes from now.
    start = new Date(Math.ceil((Date.now() + 10 * 60_000) / 60_000) * 60_000);
    await form.getByLabel('Date and time').fill(localInput(start, 'America/New_York'));
    await expect(page.getByTestId('start-preview')).toContainText(clock(start, 'America/New_York'));
    const booking = page.waitForResponse(
      (r) => r.url().endsWith('/api/visits/book') && r.request().method() === 'POST',
    );
    await form.getByRole('button', { name: 'Book visit' }).click();
    await expect(page.getByTestId('booked')).toBeVisible();

    // The visit just booked, by the id the server answered: other files may have left visits
    // of their own in the list, sooner or later than this one.
    visitId = (await (await booking).json()).id ?? '';
    expect(visitId).toHaveLength(22);
    const row = page.locator(`[data-visit="${visitId}"]`);
    await expect(row).toBeVisible();
    // The badge turns ready by itself once the Zoom job is done: no reload.
    await expect(row.getByTestId('meeting-state')).toHaveText('ready', { timeout: 20_000 });
  });

  test('the doctor sees it ready at Berlin time and Start opens Zoom', async ({ page }) => {
    await logIn(page, 'doctor', '/visits');
    const row = page.locator(`[data-visit="${visitId}"]`);
    await expect(row.getByTestId('meeting-state')).toHaveText('ready');
    await row.getByRole('link', { name: 'Open' }).click();
    await page.waitForURL((url) => url.pathname === `/visits/${visitId}`);
    await expect(page.getByTestId('local-start')).toContainText(new RegExp(`${clock(start, 'Europe/Berlin')} CES?T`));
    await page.getByTestId('start').click();
    // The simulator's start page stands in for the Zoom client.
    await page.waitForURL((url) => url.pathname.startsWith('/s/'));
    expect(page.url()).toContain('zak=');
  });

  test('the patient, sent to log in first, sees Join at New York time and joins', async ({ page }) => {
    await page.goto(`/visits/${visitId}`);
    await page.waitForURL((url) => url.pathname === '/login');
    await hydrated(page);
    await page.getByLabel('Email').fill('patient@demo.clinic');
    await page.getByLabel('Password').fill('demo-patient-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === `/visits/${visitId}`);
    await hydrated(page);
    await expect(page.getByTestId('local-start')).toContainText(new RegExp(`${clock(start, 'America/New_York')} E[SD]T`));
    // Open from booking on; "under way" once the start has passed on a slow run.
    await expect(page.getByTestId('window-state')).toContainText(/Open: (you can join now\. Starts in|the visit is under way)/);
    await expect(page.getByTestId('start')).toHaveCount(0);
    const ics = page.getByTestId('ics');
    await expect(ics).toHaveAttribute('href', `/api/visits/${visitId}/calendar.ics`);
    // No Zoom link sits in the page before the click.
    expect(await page.content()).not.toContain('/j/');
    await page.getByTestId('join').click();
    await page.waitForURL((url) => url.pathname.startsWith('/j/'));
    expect(page.url()).toContain('pwd=');
  });

  test('another patient sees nothing of it', async ({ page }) => {
    await logIn(page, 'admin', '/admin/users');
    const form = page.getByTestId('new-user-form');
    await form.getByLabel('Email').fill(otherPatient.email);
    await form.getByLabel('Role').selectOption('patient');
    await form.getByLabel('Time zone').fill('Europe/London');
    await form.getByLabel('Initial password').fill(otherPatient.password);
    await form.getByRole('button', { name: 'Create user' }).click();
    await expect(page.getByText('User created.')).toBeVisible();
    await logOut(page);

    await hydrated(page);
    await page.getByLabel('Email').fill(otherPatient.email);
    await page.getByLabel('Password').fill(otherPatient.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.goto('/visits');
    await hydrated(page);
    await expect(page.getByTestId('no-visits')).toBeVisible();
    await page.goto(`/visits/${visitId}`);
    await expect(page.getByTestId('visit-error')).toContainText('appointment was not found');
    const html = await page.content();
    expect(html).not.toContain('Ada Lovelace');
    expect(html).not.toContain('/j/');
  });

  test('the admin reads the start and the join in the audit log', async ({ page }) => {
    await logIn(page, 'admin', '/admin/audit');
    await expect(page.locator(`[data-action="meeting.start"]`).first()).toContainText('doctor@demo.clinic');
    await expect(page.locator(`[data-action="meeting.join"]`).first()).toContainText('patient@demo.clinic');
    await expect(page.locator(`[data-action="visit.book"]`).first()).toContainText('reception@demo.clinic');
  });
});
