import type { AgentState } from './agents.js';
import type { Role } from './roles.js';

/** Header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token';

/** Name of the HttpOnly session cookie. */
export const SESSION_COOKIE = 'dl_session';

/** Password length bounds (NIST SP 800-63B / ASVS 2.1): no composition rules. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

export const DISPLAY_NAME_MAX_LENGTH = 80;

/** Every 4xx/5xx body has this shape; `message` is meant for the person at the screen. */
export interface ApiError {
  statusCode: number;
  error: string;
  message: string;
}

export interface HealthResponse {
  status: 'ok';
  redis: 'ok';
}

export interface PublicUser {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  disabled: boolean;
}

export interface LoginRequest {
  email: string;
  password: string;
}

/** Returned by login and by GET /api/me: who is logged in, and the token for state-changing requests. */
export interface SessionInfo {
  user: PublicUser;
  csrfToken: string;
}

export interface CreateUserRequest {
  email: string;
  displayName: string;
  role: Role;
  password: string;
}

export const WORKSTATION_KINDS = ['browser', 'sip-phone'] as const;
export type WorkstationKind = (typeof WORKSTATION_KINDS)[number];

export interface Workstation {
  id: string;
  name: string;
  kind: WorkstationKind;
}

/** What GET and PUT /api/workstation answer: the user's agent state and workstation. */
export interface AgentStatus {
  state: AgentState;
  workstation?: Workstation;
  /** While paused: epoch ms at which the pause ends by itself. */
  pausedUntil?: number;
  /** While paused: epoch ms at which the pause began. */
  pausedAt?: number;
}

/** What GET /api/sip/credentials answers (ephemeral, auth_ephemeral format; see docs/call-path.md). */
export interface SipCredentials {
  /** The SIP WebSocket the browser connects to. */
  wsUrl: string;
  /** The address of record: sip:ws-<workstationId>@<domain>. */
  uri: string;
  username: string;
  password: string;
  /** Epoch ms after which Kamailio refuses them. */
  expiresAt: number;
}

/** SIP header on the sip app's INVITE to a workstation: the queue's call id, to match the live queue. */
export const QUEUE_CALL_ID_HEADER = 'X-Deskline-Call-Id';

export interface CreateWorkstationRequest {
  name: string;
  kind: WorkstationKind;
}
