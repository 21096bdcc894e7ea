import { test, expect, APIRequestContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { apiLogIn, hydrated, unique } from './helpers';

// The app's mail lands in MAIL_DIR (scripts/smtp_sink.py, started by scripts/e2e.sh): each
// message as NAME.json with its decoded parts.
async function mailTo(address: string, subject: string): Promise<string> {
  const dir = process.env.MAIL_DIR;
  expect(dir, 'MAIL_DIR (scripts/e2e.sh starts the mail sink)').toBeTruthy();
  let text = '';
  await expect
    .poll(
      () => {
        for (const name of fs.readdirSync(dir!).filter((n) => n.endsWith('.json')).sort().reverse()) {
          const mail = JSON.parse(fs.readFileSync(path.join(dir!, name), 'utf8'));
          if (mail.to.includes(address) && mail.subject === subject) {
            text = mail.text;
            return true;
          }
        }
        return false;
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return text;
}

/** The path (and query) of the first link in a mail to this app. */
function linkIn(text: string, route: string): string {
  const match = text.match(new RegExp(`https?://[^\\s/]+(${route}\\?token=[A-Za-z0-9_-]+)`));
  expect(match, `a ${route} link in:\n${text}`).toBeTruthy();
  return match![1];
}

async function bookFor(api: APIRequestContext, email: string): Promise<string> {
  await apiLogIn(api, 'receptionist');
  const options = await (await api.post('/api/visits/options')).json();
  const patient = options.patients.find((p: { label: string }) => p.label.includes(email));
  const start = new Date(Math.ceil((Date.now() + 10 * 60_000) / 60_000) * 60_000);
  const res = await api.post('/api/visits/book', {
    form: {
      doctor_id: String(options.doctors[0].id),
      patient_id: String(patient.id),
      start: start.toISOString().slice(0, 16),
      zone: 'UTC',
      duration: '30',
    },
  });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).id;
}

test('an invited patient chooses a password, later signs in by a mailed link and lands on the visit', async ({
  page,
  playwright,
}, testInfo) => {
  const email = `invited-${unique()}@demo.clinic`;
  const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
  await apiLogIn(api, 'admin');
  const created = await api.post('/api/admin/users/create', {
    form: { email, role: 'patient', time_zone: 'UTC' },
  });
  expect(created.status(), await created.text()).toBe(200);

  // The invitation: choose a password, and be signed in.
  const invite = linkIn(await mailTo(email, 'Your account for video visits'), '/api/auth/invite');
  await page.goto(invite);
  await page.getByLabel(/New password/).fill('my own long patient password');
  await page.getByTestId('set-password').click();
  await page.waitForURL((url) => url.pathname === '/');
  await hydrated(page);
  await expect(page.getByTestId('who')).toContainText(email);
  await page.context().clearCookies();

  // Later: a visit, and a sign-in link from the login page that lands on it.
  const visit = await bookFor(api, email);
  await api.dispose();
  await page.goto(`/login?next=${encodeURIComponent(`/visits/${visit}`)}`);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByTestId('email-link').click();
  await expect(page.getByTestId('link-answer')).toContainText('sign-in link is on its way');
  const link = linkIn(await mailTo(email, 'Your sign-in link'), '/api/auth/link');
  await page.goto(link);
  await page.getByTestId('use-link').click();
  await page.waitForURL((url) => url.pathname === `/visits/${visit}`);
  await hydrated(page);
  await expect(page.getByTestId('who')).toContainText(email);
});
