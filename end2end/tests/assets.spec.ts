import { test, expect } from '@playwright/test';
import { hydrated } from './helpers';

// The bundle is fetched under content-hashed names, cached for a year, and sent compressed
// when a precompressed copy exists (release builds); the page itself is never cached.
test('the login page loads its hashed bundle with long-lived caching and hydrates', async ({ page }) => {
  const assets: { url: string; cacheControl?: string; vary?: string }[] = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/pkg/')) {
      const headers = response.headers();
      assets.push({ url: url.pathname, cacheControl: headers['cache-control'], vary: headers['vary'] });
    }
  });
  const response = await page.goto('/login');
  expect(response?.headers()['cache-control']).toBe('no-store');
  await hydrated(page);
  // The stylesheet applied (style/main.css sets the font).
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  expect(font).toContain('system-ui');
  const kinds = assets.map((a) => a.url.split('.').pop());
  expect(kinds).toEqual(expect.arrayContaining(['js', 'wasm', 'css']));
  for (const asset of assets) {
    // The main bundle, or the loader of the pages split off it (app.rs, `lazy_page!`).
    expect(asset.url).toMatch(/^\/pkg\/(telehealth|__wasm_split)\.[A-Za-z0-9_-]{22}\.(js|wasm|css)$/);
    expect(asset.cacheControl).toBe('public, max-age=31536000, immutable');
    expect(asset.vary).toBe('accept-encoding');
  }
  // The page's `Link` header names exactly the files the page then loads (assets.rs,
  // `bundle_preload`), so the browser starts on them before it has read the page; each file
  // was fetched once, so the early requests were the ones the app used.
  const links = [...(response?.headers()['link'] ?? '').matchAll(/<([^>]+)>/g)].map((m) => m[1]);
  expect(links.sort()).toEqual([...new Set(assets.map((a) => a.url))].sort());
  expect(assets.length, JSON.stringify(assets.map((a) => a.url))).toBe(links.length);
});
