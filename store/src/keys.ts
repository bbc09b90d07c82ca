/**
 * Every Redis key, stream and channel of Deskline: signaling, the sip app and Kamailio's config use
 * these, and no other file spells a key (a test greps for it). Kamailio's config spells the registration keys out by hand; a test
 * checks it against these.
 */
export const RedisKeys = {
  /**
   * hash: userId, workstationId, state (AgentState), idleSince (epoch ms); callId while ringing or on
   * a call; pausedUntil and pausedAt (epoch ms) while paused; lastPausedAt and lastPauseEndedAt after
   * a pause, until the missed calls are dismissed (docs/presence-and-pause.md); pauseReason
   * (wrap-up | no-answer) while paused by the distribution settings; missedRings, the unanswered
   * rings in a row (issue 16); after a manager took
   * the user off their workstation, only forcedOffBy (the manager's name), forcedOffAt (epoch ms) and
   * forcedOffFrom (the workstationId), until the next pick
   */
  agent: (userId: string) => `agent:${userId}`,
  /** hash {id, name, kind, sipUser (desk phones)}: a workstation (signaling's WorkstationStore) */
  workstation: (workstationId: string) => `workstation:${workstationId}`,
  /** string: the userId holding a workstation (claimed with SET NX) */
  workstationHolder: (workstationId: string) => `workstation-holder:${workstationId}`,
  /** sorted set of userIds that can take a call, scored by idleSince: longest idle first */
  idleAgents: 'agents:idle',
  /** string with TTL, written by Kamailio on REGISTER: the workstation's current SIP contact */
  sipRegistration: (sipUser: string) => `sip-registration:${sipUser}`,
  /**
   * hash {userAgent, at (epoch s)}, written by Kamailio on every successful REGISTER and kept after the
   * registration ends: what a manager sees as the workstation's user agent and "last seen"
   */
  sipRegistrationSeen: (sipUser: string) => `sip-registration-seen:${sipUser}`,
  /**
   * set with TTL, written by signaling, read by Kamailio: the auth usernames ("<expiry>:ws-<id>") of
   * the browser credentials still valid for this SIP user, those issued to the workstation's current
   * holder (docs/security.md)
   */
  sipAuth: (sipUser: string) => `sip-auth:${sipUser}`,
  /** string (epoch s) expiring then: the newest expiry among the SIP user's revoked usernames */
  sipAuthRevoked: (sipUser: string) => `sip-auth-revoked:${sipUser}`,
  /** list of SIP users whose credentials were revoked: Kamailio pops them and drops their registrations */
  sipRevocations: 'sip-revocations',
  /** hash: desk phones' static SIP credentials, sipUser -> HA1 (md5 of user:realm:password) */
  sipCredentials: 'sip-credentials',
  /** hash: the call's CallView fields */
  call: (callId: string) => `call:${callId}`,
  /** sorted set of waiting callIds, scored by queuedAt: first come, first served */
  waitingCalls: 'calls:waiting',
  /** set of callIds not yet ended */
  activeCalls: 'calls:active',
  /** sorted set of callIds that ended `abandoned`, scored by endedAt; kept as long as the call hashes */
  abandonedCalls: 'calls:abandoned',
  /** sorted set of paused userIds, scored by pausedUntil: the next pause to end first */
  pauseEnds: 'agents:pause-ends',
  /** sorted set of userIds with the app open, scored by the last heartbeat of any signaling instance */
  onlineUsers: 'presence:online',
  /** sorted set of the signaling instances holding a push socket of the user, scored by heartbeat */
  userSockets: (userId: string) => `presence:${userId}`,

  // Users, sessions and workstations (signaling).
  /** hash: a StoredUser (UserStore) */
  user: (userId: string) => `user:${userId}`,
  /** string: the userId with this normalized email */
  userEmail: (email: string) => `user-email:${email}`,
  /** set of every userId */
  users: 'users',
  /** string: the user's avatar picture (ProfileStore) */
  avatar: (userId: string) => `avatar:${userId}`,
  /** hash: a session, under the SHA-256 (base64url) of its id (SessionStore) */
  session: (digest: string) => `session:${digest}`,
  /** set of the digests of a user's sessions */
  userSessions: (userId: string) => `user-sessions:${userId}`,
  /** string with TTL: the userId a one-time setup link is for, under the SHA-256 of its token (taken once, GETDEL) */
  setupToken: (digest: string) => `setup-token:${digest}`,
  /** string with TTL: the digest of the user's one setup link still valid, so that a new link voids the old */
  userSetupToken: (userId: string) => `user-setup-token:${userId}`,
  /** string with TTL: the new digest of a session renewed under a new id */
  sessionRenamed: (digest: string) => `session-renamed:${digest}`,
  /** set of every workstationId */
  workstations: 'workstations',
  /** hash: lower-cased workstation name -> workstationId */
  workstationNames: 'workstation-names',
  /** sorted zsets of login attempts (LoginLimiter, docs/security.md), per account and address pair, address, account */
  loginAttemptsPair: (address: string, account: string) => `login-attempts:pair:${address}|${account}`,
  loginAttemptsIp: (address: string) => `login-attempts:ip:${address}`,
  loginAttemptsAccount: (account: string) => `login-attempts:account:${account}`,
  /** string with TTL: the account's slow lane is taken */
  loginAttemptsAccountSlot: (account: string) => `login-attempts:account-slot:${account}`,

  // The sip app's instances (sip/src/instance.ts) and calls.
  /** string with TTL: instance `id` stopped having left its calls */
  sipAppStopped: (instanceId: string) => `sip-app:stopped:${instanceId}`,
  /** hash: what a sip app process needs to carry on with a call (sip/src/calls/call-sip-state.ts) */
  callSip: (callId: string) => `call-sip:${callId}`,

  // The call board (docs/call-board.md).
  /** sorted set of subjectIds in their order */
  subjects: 'subjects',
  /** hash: lower-cased subject name -> subjectId */
  subjectNames: 'subject-names',
  /** hash: a Subject */
  subject: (subjectId: string) => `subject:${subjectId}`,
  /** string with TTL: the userId who started a callback (TaskStore) */
  callbackStarter: (callbackId: string) => `callback-starter:${callbackId}`,
  /** string: a TaskView as JSON */
  task: (taskId: string) => `task:${taskId}`,
  /** set of the taskIds not closed */
  openTasks: 'tasks:open',
  /** sorted set of closed taskIds, scored by closedAt; trimmed to HISTORY_RETENTION_DAYS with the tasks */
  closedTasks: 'tasks:closed',
  /** string: the taskId a new call from this number joins (the patient's open abandoned task) */
  patientTask: (number: string) => `patient-task:${number}`,
  /** string: the subjectId that closed this number's last task */
  patientLastSubject: (number: string) => `patient-last-subject:${number}`,
  /** hash: a contact per patient's number, E.164 -> JSON {name, note, updatedAt} (ContactStore) */
  contacts: 'contacts',
  /** string: the taskId a call belongs to */
  callTask: (callId: string) => `call-task:${callId}`,
  /** string with TTL CALLBACK_GRANT_SECONDS: a CallbackGrant as JSON, taken once (GETDEL) by the sip app */
  callbackGrant: (token: string) => `callback-grant:${token}`,
  /**
   * string: the callbackId calling this task's patient. Set NX by signaling with the grant's TTL; the
   * sip app extends it while the callback lasts and deletes it when the callback ends.
   */
  taskCallback: (taskId: string) => `task-callback:${taskId}`,
  /** string: a CallbackView as JSON, kept HISTORY_RETENTION_DAYS */
  callback: (callbackId: string) => `callback:${callbackId}`,
  /** sorted set of callbackIds scored by startedAt, trimmed to HISTORY_RETENTION_DAYS */
  callbacks: 'callbacks',
  /** string: a CallRecord as JSON, written when a call ends, kept HISTORY_RETENTION_DAYS */
  callRecord: (callId: string) => `call-record:${callId}`,
  /** sorted set of callIds with a record, scored by startedAt, trimmed to HISTORY_RETENTION_DAYS */
  callRecords: 'call-records',

  // The outbound policy (docs/security.md, "Callbacks: the outbound policy"); written only through
  // @deskline/outbound-policy. Kamailio's route TO_TRUNK spells the last two out by hand.
  /** string: the OutboundPolicy as JSON */
  outboundPolicy: 'outbound-policy',
  /** hash: E.164 prefix -> "allow" or "deny", the policy's prefixes for Kamailio, written with the policy */
  outboundPrefixes: 'outbound-policy:prefixes',
  /** string with TTL: the E.164 number the sip app is about to send this Call-ID's INVITE to; Kamailio takes it (GETDEL) */
  outboundCall: (callId: string) => `outbound-call:${callId}`,
  /** string (a count) with TTL: callbacks the user started on that clinic day (YYYY-MM-DD in CLINIC_TIME_ZONE) */
  callbackCount: (userId: string, date: string) => `callback-count:${userId}:${date}`,

  /** string: the managers' OutcomeSettings as JSON (OutcomeSettingsStore); absent = DEFAULT_OUTCOME_SETTINGS */
  outcomeSettings: 'outcome-settings',
  /** string: set once signaling has moved the tasks of before issue 16 to Abandoned / Unanswered */
  outcomesMigrated: 'migrated:issue-16-outcomes',

  // The call plan (issue 15, docs/call-plan.md); written and read only through CallPlanStore.
  /** string: the CallPlan as JSON; absent = DEFAULT_CALL_PLAN */
  callPlan: 'call-plan',
  /**
   * hash (issue 16, DistributionStore): strategy, fixedOrder (JSON array of userIds), wrapUpSeconds,
   * autoPauseAfter, ringTimeoutSeconds (absent: RING_TIMEOUT_SECONDS); the agent scripts read
   * wrapUpSeconds and autoPauseAfter at every release
   */
  distribution: 'settings:distribution',
  /**
   * hash: "<lang>/<name>" (or "hold-music") -> PromptUpload as JSON, the managers' uploaded prompts
   * and hold music (PromptUploadStore; the files themselves are in PROMPTS_DIR, docs/call-plan.md "Prompts")
   */
  promptUploads: 'prompt-uploads',
  // Voicemail (issue 15, docs/call-plan.md "Voicemail").
  /** string: a VoicemailMessage as JSON (VoicemailStore); its audio is <RECORDINGS_DIR>/<id>.mp3 */
  voicemail: (id: string) => `voicemail:${id}`,
  /** sorted set of voicemail ids scored by createdAt, trimmed to HISTORY_RETENTION_DAYS with their files */
  voicemails: 'voicemails',
  /** set of the voicemail ids a number left (for `patient forget`) */
  patientVoicemails: (number: string) => `patient-voicemails:${number}`,
  /**
   * string: the id of the task that shows voicemail message <id> (TaskStore), so that the message's
   * removal reaches its task after the call's call-task link has expired; lives as long as the message can
   */
  voicemailTask: (id: string) => `voicemail-task:${id}`,
} as const;

/** How long call records, callbacks and closed tasks are kept by default (HISTORY_RETENTION_DAYS). */
export const DEFAULT_HISTORY_RETENTION_DAYS = 90;

export const RedisStreams = {
  /** Every call state change, as CallEvent JSON in the field "event"; signaling fans them out. */
  callEvents: 'stream:call-events',
  /**
   * A team member's presence may have changed (name, avatar, workstation, agent state, pause,
   * online): field "userId". Whoever changes one of them appends here (signaling, and the sip app's
   * agent scripts); signaling reads the member afresh and pushes it to every panel.
   */
  teamEvents: 'stream:team-events',
  /** Every callback state change, as CallbackEvent JSON in the field "event" (the sip app appends). */
  callbackEvents: 'stream:callback-events',
  /**
   * A task or a subject changed: field "taskId" or "subjectId". Whoever changes one appends here;
   * every signaling instance reads it afresh and pushes it to its panels.
   */
  boardEvents: 'stream:board-events',
  /** Every play of a voicemail message: fields voicemailId, userId, at, range (VoicemailStore.audit) */
  voicemailAudit: 'stream:voicemail-audit',
} as const;

/** stream:team-events is trimmed to about this many entries (`XADD … MAXLEN ~`); readers only tail them. */
export const TEAM_EVENTS_MAX_LENGTH = 1000;

export const RedisChannels = {
  /** Wake-up for the router: an agent may have become available. Payload: userId or empty. */
  routeWake: 'route:wake',
  /** Kamailio publishes {"user": sipUser, "registered": bool} when a registration appears or goes. */
  sipRegistrations: 'sip:registrations',
  /** Sessions ended or renamed, by any process (SessionsEnded JSON): signaling closes their push sockets. */
  sessionsEnded: 'sessions:ended',
  /** A sip app instance stopped having left its calls (its id): the others adopt them at once. */
  sipAppStopped: 'sip-app:stopped',
  /** A pause started, changed or ended: the services re-arm their pause-end timers. Payload: userId. */
  pauseChanged: 'pause:changed',
  /**
   * A patient's key that reached a sip app instance which does not hold the call (rtpengine sends
   * every key to one instance of the host): {callId, tag, key} JSON; the instance holding it takes it.
   */
  callKeys: 'call:keys',
} as const;

/** The prefix of the name (CLIENT SETNAME) of every sip app instance's Redis connection. */
export const SIP_APP_CONNECTION_PREFIX = 'sip-app:';
