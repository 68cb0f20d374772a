// The shareable URL: the scenario text, UTF-8 and base64url, in the hash (#s=...).

export function encodeScenario(yaml: string): string {
  const bytes = new TextEncoder().encode(yaml);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return "s=" + btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The scenario in a hash, or undefined when there is none (or it is not ours). */
export function decodeScenario(hash: string): string | undefined {
  const m = /^#?s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return undefined;
  try {
    const binary = atob(m[1].replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}
