import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import { CallPlanStore, ContactStore, DistributionStore } from '@deskline/store';
import { PromptUploadStore } from '@deskline/store';
import { OutcomeSettingsStore } from '@deskline/store';
import type { Config } from '../../config.js';
import { AccountService } from '../../services/account-service.js';
import { SetupLinks } from '../../services/setup-links.js';
import { AgentService } from '../../services/agent-service.js';
import { ContactService } from '../../services/contact-service.js';
import { LoginLimiter, loginLimitsFrom } from '../../services/login-limiter.js';
import { ProfileStore } from '../../services/profile-store.js';
import { PromptLibrary } from '../../services/prompt-library.js';
import { Presence } from '../../services/presence.js';
import { SessionStore } from '../../services/session-store.js';
import { SubjectStore } from '../../services/subject-store.js';
import { TeamService } from '../../services/team-service.js';
import { UserStore } from '../../services/user-store.js';
import { VoicemailService } from '../../services/voicemail-service.js';
import { WorkstationStore } from '../../services/workstation-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    users: UserStore;
    sessions: SessionStore;
    workstations: WorkstationStore;
    loginLimiter: LoginLimiter;
    /** Since start: passwords verified by login (argon2 runs) and attempts refused by the login limits. */
    loginMetrics: { verifications: number; refusals: number };
    accounts: AccountService;
    agents: AgentService;
    profiles: ProfileStore;
    presence: Presence;
    team: TeamService;
    subjects: SubjectStore;
    outboundPolicy: OutboundPolicyStore;
    /** Whether Abandoned tasks may be called back (docs/managers.md, "Call outcomes"). */
    outcomeSettings: OutcomeSettingsStore;
    callPlan: CallPlanStore;
    distribution: DistributionStore;
    prompts: PromptLibrary;
    /** Voicemail messages: metadata and audio files (RECORDINGS_DIR). */
    voicemail: VoicemailService;
    /** Patients' names for their numbers (issue 16, item 5). */
    contacts: ContactService;
  }
}

const HOUR_MS = 3_600_000;

/** The Redis-backed stores the routes work with; the command-line tool builds the same classes. */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    app.decorate('users', new UserStore(app.redis));
    app.decorate(
      'sessions',
      new SessionStore(app.redis, {
        idleMs: config.SESSION_IDLE_MINUTES * 60_000,
        maxMs: config.SESSION_MAX_HOURS * HOUR_MS,
      }),
    );
    app.decorate('workstations', new WorkstationStore(app.redis, { sipDomain: config.SIP_DOMAIN }));
    app.decorate('agents', new AgentService(app.redis, app.workstations));
    // Each signaling instance has its own id in the presence records (docs/presence-and-pause.md).
    app.decorate('presence', new Presence(app.redis, randomUUID(), config.PRESENCE_HEARTBEAT_SECONDS * 3000));
    app.decorate('team', new TeamService(app.redis, app.workstations, app.presence));
    app.decorate('loginLimiter', new LoginLimiter(app.redis, loginLimitsFrom(config)));
    app.decorate('loginMetrics', { verifications: 0, refusals: 0 });
    app.decorate(
      'accounts',
      new AccountService(app.users, app.sessions, app.agents, app.loginLimiter, new SetupLinks(app.redis)),
    );
    app.decorate('profiles', new ProfileStore(app.redis));
    app.decorate('subjects', new SubjectStore(app.redis));
    app.decorate('voicemail', new VoicemailService(app.redis, config.RECORDINGS_DIR));
    app.decorate('contacts', new ContactService(new ContactStore(app.redis), config.CLINIC_COUNTRY));
    // Here rather than onReady: Redis has just answered the connect, and a failure stops the start
    // with the error instead of surfacing in the first request.
    const created = await app.subjects.ensureDefaults();
    if (created > 0) app.log.info({ created }, 'default subjects created');
    const migrated = await app.subjects.migrateCategories();
    if (migrated > 0) app.log.info({ migrated }, 'subjects stored before categories put under one');
    app.decorate('outboundPolicy', new OutboundPolicyStore(app.redis, config.CLINIC_COUNTRY));
    app.decorate('prompts', new PromptLibrary(new PromptUploadStore(app.redis), config.MEDIA_DIR, config.PROMPTS_DIR));
    const promptsProblem = await app.prompts.uploadProblem();
    if (promptsProblem !== undefined) {
      app.log.warn({ promptsDir: config.PROMPTS_DIR }, `managers' prompt uploads will fail: ${promptsProblem}`);
    } else {
      // Uploads of an older Deskline get the .au rtpengine plays evenly; in the background (sox, a few
      // ms a file), since the sip app plays their WAV meanwhile.
      void app.prompts.addMissingAu().then(
        ({ written, failed }) => {
          if (written > 0) app.log.info({ written }, 'uploaded prompts given the .au rtpengine plays');
          if (failed.length > 0) app.log.warn({ failed }, 'uploaded prompts sox could not convert; their WAV plays');
        },
        (err: unknown) => app.log.warn({ err }, 'could not check the uploaded prompts for their .au'),
      );
    }
    // Kamailio reads the policy's prefixes from Redis: they must be there before the first callback.
    await app.outboundPolicy.ensure();
    app.decorate('callPlan', new CallPlanStore(app.redis));
    app.decorate('outcomeSettings', new OutcomeSettingsStore(app.redis));
    app.decorate('distribution', new DistributionStore(app.redis));
  },
  { name: 'stores', dependencies: ['redis'] },
);
