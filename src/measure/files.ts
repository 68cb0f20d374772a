// Command-line arguments to groups of files. Each directory (searched recursively) gives one
// group per directory that holds files; a quoted glob gives one group; plain files named on
// the command line form one group, in the order given. Pairing happens within a group.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileProblem } from "../cli/errors.js";

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export interface InputEntry {
  path: string;
  /** "sim.json#early": the variant of a simulate output. */
  variant?: string;
  /** Named by the user (not found in a directory): an unreadable kind is then an error. */
  explicit: boolean;
}

export interface InputGroup {
  label: string;
  entries: InputEntry[];
}

const byName = new Intl.Collator("en", { numeric: true }).compare;

const kindOf = (path: string) => {
  try {
    const s = statSync(path);
    return s.isDirectory() ? "dir" : s.isFile() ? "file" : "other";
  } catch {
    return undefined;
  }
};

export function expandArguments(args: string[]): InputGroup[] {
  const groups: InputGroup[] = [];
  const named: InputEntry[] = [];
  for (const arg of args) {
    const kind = kindOf(arg);
    if (kind === "dir") groups.push(...directoryGroups(arg));
    else if (kind === "file") named.push({ path: arg, explicit: true });
    else if (kind === "other") throw new InputError(`${arg}: not a regular file or directory`);
    else if (/[*?]/.test(basename(arg))) groups.push(globGroup(arg));
    else if (arg.includes("#") && kindOf(arg.slice(0, arg.lastIndexOf("#"))) === "file") {
      named.push({ path: arg.slice(0, arg.lastIndexOf("#")), variant: arg.slice(arg.lastIndexOf("#") + 1), explicit: true });
    } else throw new InputError(`${arg}: no such file or directory`);
  }
  if (named.length > 0) groups.unshift({ label: commonDirectory(named.map((e) => e.path)), entries: named });
  return groups;
}

function directoryGroups(root: string): InputGroup[] {
  const groups: InputGroup[] = [];
  const visit = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => !n.startsWith(".")).sort(byName);
    } catch (e) {
      throw new InputError(`${dir}: cannot read the directory (${fileProblem(e)})`);
    }
    const files = names.map((n) => join(dir, n)).filter((p) => kindOf(p) === "file");
    if (files.length > 0) groups.push({ label: dir, entries: files.map((path) => ({ path, explicit: false })) });
    for (const sub of names.map((n) => join(dir, n)).filter((p) => kindOf(p) === "dir")) visit(sub);
  };
  visit(root);
  if (groups.length === 0) throw new InputError(`${root}: no files in this directory`);
  return groups;
}

/** Wildcards (* and ?) in the last path component only: enough for "runs/early/*.trace". */
function globGroup(pattern: string): InputGroup {
  const dir = dirname(pattern);
  if (/[*?]/.test(dir)) throw new InputError(`${pattern}: only the last part of a path may hold * or ?`);
  const escaped = basename(pattern).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  const regex = new RegExp(`^${escaped}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new InputError(`${pattern}: no such directory ${dir}`);
  }
  const paths = names.filter((n) => regex.test(n) && !n.startsWith(".")).sort(byName).map((n) => join(dir, n)).filter((p) => kindOf(p) === "file");
  if (paths.length === 0) throw new InputError(`${pattern}: no file matches`);
  return { label: pattern, entries: paths.map((path) => ({ path, explicit: true })) };
}

function commonDirectory(paths: string[]): string {
  if (paths.length === 1) return paths[0];
  const dirs = paths.map((p) => dirname(p));
  return dirs.every((d) => d === dirs[0]) ? dirs[0] : "the files given";
}

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`${path}: cannot read the file (${fileProblem(e)})`);
  }
}
