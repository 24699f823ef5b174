/**
 * The headers every console response carries, including errors, 404s and event streams.
 * The CSP forbids inline script and style outright: the Vite build emits only external files,
 * and React sets no `style` attributes in our components (SVG geometry is attributes, colours
 * are classes), so nothing needs `'unsafe-inline'`.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Older browsers that ignore frame-ancestors.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
