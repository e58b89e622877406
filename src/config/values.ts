/** Reading one setting of the table from the command line's strings: shared by validate.ts and the slices beside it. */
import { longFlag, type RawOptions, SETTINGS, type SettingName, type SettingValue } from "./settings.js";

/** The value of one setting: the user's, else the table's default, parsed by the table's parser. */
export function settingValue<K extends SettingName>(raw: RawOptions, name: K): SettingValue<K> | undefined {
  const entry = SETTINGS[name] as { parse?: (value: string, option: string) => unknown; default?: string };
  const given = raw[name];
  const value = typeof given === "string" ? given : entry.default;
  if (value === undefined) return undefined;
  return (entry.parse ? entry.parse(value, longFlag(SETTINGS[name])) : value) as SettingValue<K>;
}

export function required<K extends SettingName>(raw: RawOptions, name: K): SettingValue<K> {
  const value = settingValue(raw, name);
  if (value === undefined) throw new Error(`${longFlag(SETTINGS[name])} has no default`);
  return value;
}
