// Prettier for every package: `npm run format` writes, `npm run lint` (and npm test) checks.
// The settings are those of the code as it was written by hand before Prettier came in.
/** @type {import('prettier').Config} */
export default {
  singleQuote: true,
  // Most code lines kept within 120 columns; comments wrap near 100 and Prettier leaves them alone.
  printWidth: 120,
  // Template literals hold Lit's HTML and CSS, SIP messages and Lua: their text is what runs, so it
  // stays exactly as written.
  embeddedLanguageFormatting: 'off',
  // Compose files, CSS and HTML quote with double quotes, as their own ecosystems do.
  overrides: [{ files: ['*.yml', '*.yaml', '*.css', '*.html'], options: { singleQuote: false } }],
};
