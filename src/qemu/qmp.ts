// A small QMP client (QEMU Machine Protocol) over a unix socket: the greeting, capability
// negotiation, commands with ids, asynchronous events, and QEMU's errors as typed exceptions.
// QMP is one JSON object per line in both directions (docs/interop/qmp-spec.txt).

import { connect, type Socket } from "node:net";

/** QEMU answered a command with {"error": {"class", "desc"}}. */
export class QmpCommandError extends Error {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command}: ${desc} (${errorClass})`);
    this.name = "QmpCommandError";
  }
}

/** The connection failed, closed, timed out or carried something that is not QMP. */
export class QmpConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QmpConnectionError";
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package?: string };
  capabilities: string[];
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export interface QmpConnectOptions {
  /** How long to keep retrying while QEMU has not yet created the socket, ms. */
  timeoutMs?: number;
  /** Every line in and out, for --trace. */
  transcript?: (direction: "in" | "out", line: string) => void;
}

export class QmpClient {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: QmpEvent) => void>();
  private closedError: QmpConnectionError | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;

  private constructor(private readonly socket: Socket, private readonly where: string, private readonly transcript?: QmpConnectOptions["transcript"]) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (e) => this.close(new QmpConnectionError(`QMP ${where}: ${e.message}`)));
    socket.on("close", () => this.close(new QmpConnectionError(`QMP ${where}: QEMU closed the connection`)));
  }

  /** Connects (retrying until QEMU listens), reads the greeting and leaves negotiation mode. */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<{ client: QmpClient; greeting: QmpGreeting }> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        const socket = await openSocket(path);
        const client = new QmpClient(socket, path, options.transcript);
        try {
          const greeting = await withTimeout(client.readGreeting(), Math.max(1000, deadline - Date.now()), `QMP ${path}: no greeting`);
          await client.execute("qmp_capabilities");
          return { client, greeting };
        } catch (e) {
          client.disconnect();
          throw e;
        }
      } catch (e) {
        const retriable = (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ECONNREFUSED";
        if (!retriable) throw e instanceof QmpConnectionError || e instanceof QmpCommandError ? e : new QmpConnectionError(`QMP ${path}: ${(e as Error).message}`);
        if (Date.now() >= deadline) throw new QmpConnectionError(`QMP ${path}: QEMU did not open its monitor socket in time`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Runs a command; resolves to its "return" value, rejects with QmpCommandError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `livemig-${this.nextId++}`;
    const message = JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.transcript?.("out", message);
      this.socket.write(message + "\n");
    });
  }

  /** Calls `listener` for every event; returns the function that stops it. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event named `name` for which `match` holds. */
  waitForEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new QmpConnectionError(`QMP ${this.where}: no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.onEvent((e) => {
        if (e.event === name && match(e)) {
          clearTimeout(timer);
          stop();
          resolve(e);
        }
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  disconnect(): void {
    this.socket.destroy();
    this.close(new QmpConnectionError(`QMP ${this.where}: disconnected`));
  }

  private readGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.greetingWaiter = { resolve, reject };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    this.transcript?.("in", line);
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      message = parsed as Record<string, unknown>;
    } catch {
      this.socket.destroy();
      this.close(new QmpConnectionError(`QMP ${this.where}: not a QMP message: ${line.slice(0, 80)}`));
      return;
    }
    if ("QMP" in message) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      waiter?.resolve(message.QMP as QmpGreeting);
      return;
    }
    if (typeof message.event === "string") {
      for (const l of [...this.listeners]) l(message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === "string" ? message.id : undefined;
    const pending = id !== undefined ? this.pending.get(id) : undefined;
    if (!pending || id === undefined) return; // a reply to nobody (QEMU never sends one); ignore
    this.pending.delete(id);
    if ("error" in message) {
      const err = (message.error ?? {}) as { class?: unknown; desc?: unknown };
      pending.reject(new QmpCommandError(pending.command, String(err.class ?? "GenericError"), String(err.desc ?? "unknown error")));
    } else {
      pending.resolve(message.return);
    }
  }

  private close(error: QmpConnectionError): void {
    if (this.closedError) return;
    this.closedError = error;
    this.greetingWaiter?.reject(error);
    this.greetingWaiter = undefined;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new QmpConnectionError(`${message} within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
