/** A worker slot: its index, the Supervisor-style process name and the port it serves on. */
export interface Slot {
  readonly index: number;
  readonly processName: string;
  readonly port: number;
}

/** Supervisor: process_name = %(program_name)s_%(process_num)02d; the guide's app takes its port from the last two digits. */
export function slotFor(programName: string, basePort: number, index: number, sharedPort?: number): Slot {
  return Object.freeze({
    index,
    processName: `${programName}_${String(index).padStart(2, "0")}`,
    port: sharedPort ?? basePort + index,
  });
}

/** The environment Supervisor gives a program, plus PORT as Heroku-style servers expect. */
export function supervisorEnv(programName: string, slot: Slot): Record<string, string> {
  return {
    SUPERVISOR_ENABLED: "1",
    SUPERVISOR_PROCESS_NAME: slot.processName,
    SUPERVISOR_GROUP_NAME: programName,
    PORT: String(slot.port),
  };
}
