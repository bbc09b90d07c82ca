/** Entry point of the bundle: defines the custom elements; index.html places <dl-app>. */
import './elements/dl-app-shell.js';
import './elements/dl-app.js';
import './elements/dl-call-panel.js';
import './elements/dl-confirm-dialog.js';
import './elements/dl-login-page.js';
import './elements/dl-missed-calls.js';
import './elements/dl-password-settings.js';
import './elements/dl-pause-panel.js';
import './elements/dl-pause-picker.js';
import './elements/dl-presence-dot.js';
import './elements/dl-profile-settings.js';
import './elements/dl-queue-list.js';
import './elements/dl-registration-status.js';
import './elements/dl-settings-dialog.js';
import './elements/dl-team-list.js';
import './elements/dl-user-menu.js';
import './elements/dl-workstation-picker.js';
