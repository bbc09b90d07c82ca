/** The SIP user a browser workstation registers as. */
export function browserSipUser(workstationId: string): string {
  return `ws-${workstationId}`;
}

/**
 * The SIP user that rings for a workstation: `ws-<id>` for a browser, the desk phone's own SIP user
 * for a desk phone (undefined for a desk phone stored without one, which nothing can ring).
 */
export function workstationSipUser(workstation: {
  id: string;
  kind: string;
  sipUser?: string | undefined;
}): string | undefined {
  return workstation.kind === 'browser' ? browserSipUser(workstation.id) : workstation.sipUser || undefined;
}
