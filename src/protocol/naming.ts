/**
 * Supervisor's process name: `process_name = %(program_name)s_%(process_num)02d`. The guide's app reads its port from
 * the last two digits, HAProxy's servers carry the same names, and so do the bench's configs.
 */
export function processName(programName: string, index: number): string {
  return `${programName}_${String(index).padStart(2, "0")}`;
}
