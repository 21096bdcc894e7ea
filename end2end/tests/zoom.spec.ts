import { test, expect } from '@playwright/test';
import { hydrated, logIn, resetZoom } from './helpers';

// One story, in order: the admin configures Zoom, the doctor connects, checks and disconnects.
// It starts from Zoom as demo mode sets it up, whatever the other files left behind.
test.describe.serial('Zoom connection', () => {
  test.beforeAll(async ({ playwright }, testInfo) => {
    const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
    await resetZoom(api);
    await api.dispose();
  });

  test('the admin saves the Zoom settings and tests the connection', async ({ page }) => {
    await logIn(page, 'admin', '/admin/zoom');
    const form = page.getByTestId('zoom-settings-form');
    await expect(page.getByTestId('redirect-url')).toHaveText(/\/api\/zoom\/callback$/);

    await form.getByLabel('Each doctor connects their own Zoom account').check();
    await form.getByLabel('Client ID').fill('demo-oauth-client');
    await form.getByLabel(/^Client secret/).fill('not-the-secret');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('settings-saved')).toBeVisible();
    await form.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('test-result')).toContainText('Zoom refused these credentials');

    await form.getByLabel(/^Client secret/).fill('demo-oauth-secret');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByTestId('settings-saved')).toBeVisible();
    // The secret is write-only: the page only says when it was set.
    await expect(form.getByLabel(/^Client secret \(set /)).toHaveValue('');
    await form.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('test-result')).toContainText('Connected as OAuth app demo-oauth-client');
    expect(await page.content()).not.toContain('demo-oauth-secret');
  });

  test('the doctor connects Zoom on the consent page, checks it and disconnects', async ({ page }) => {
    await logIn(page, 'doctor', '/zoom');
    await expect(page.getByTestId('zoom-status')).toHaveText('Not connected');
    await page.getByRole('link', { name: 'Connect Zoom' }).click();

    // The simulator's consent page stands in for Zoom's.
    await expect(page.getByRole('button', { name: 'Allow' })).toBeVisible();
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL((url) => url.pathname === '/zoom');
    await hydrated(page);
    await expect(page.getByText('Zoom connected.')).toBeVisible();
    await expect(page.getByTestId('zoom-status')).toContainText('Connected as doctor@demo.clinic');

    await page.getByRole('button', { name: 'Check connection' }).click();
    await expect(page.getByTestId('check-result')).toContainText('Zoom answered: connected as doctor@demo.clinic');

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await expect(page.getByTestId('zoom-status')).toHaveText('Not connected');
    await expect(page.getByRole('link', { name: 'Connect Zoom' })).toBeVisible();
  });

  test('a doctor who declines on the consent page is told nothing was connected', async ({ page }) => {
    await logIn(page, 'doctor', '/zoom');
    await page.getByRole('link', { name: 'Connect Zoom' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await expect(page.getByTestId('oauth-error')).toContainText('nothing was connected');
  });
});
