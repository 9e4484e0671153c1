// Seeded generator of realistic event records (ride-hailing and web-click events as NDJSON), the payload every
// codec and broker benchmark can share so their numbers describe the same bytes. Same seed, same bytes, on every
// machine and runtime: the PRNG is mulberry32 and nothing reads the clock.
//
// Run standalone to write a sample to stdout: `bun bench/data.ts <bytes> [seed]`.

import { seededRandom } from "../test/helpers/seeded-random.ts";

export { seededRandom };

const CITIES = [
  { name: "berlin", lat: 52.52, lon: 13.405 },
  { name: "lisbon", lat: 38.722, lon: -9.139 },
  { name: "nairobi", lat: -1.286, lon: 36.817 },
  { name: "sao_paulo", lat: -23.55, lon: -46.633 },
  { name: "seattle", lat: 47.606, lon: -122.332 },
  { name: "singapore", lat: 1.352, lon: 103.82 },
] as const;
const RIDE_TYPES = ["ride_requested", "driver_assigned", "ride_started", "ride_completed", "ride_cancelled"] as const;
const PRODUCTS = ["standard", "comfort", "xl", "green"] as const;
const PAGES = ["/", "/search", "/products", "/products/detail", "/cart", "/checkout", "/account", "/help"] as const;
const DEVICES = ["ios", "android", "web"] as const;
const AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
] as const;
const HEX = "0123456789abcdef";

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function hexId(random: () => number, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += HEX[Math.floor(random() * 16)];
  return s;
}

/** The `index`-th event of a stream: a plain object, half ride events and half click events. */
export function makeEvent(random: () => number, index: number): Record<string, unknown> {
  const timestampMs = 1_795_000_000_000 + index * 37 + Math.floor(random() * 30);
  const ts = new Date(timestampMs).toISOString();
  if (random() < 0.5) {
    const city = pick(random, CITIES);
    return {
      type: pick(random, RIDE_TYPES),
      event_id: hexId(random, 16),
      ride_id: `ride-${100000 + Math.floor(random() * 900000)}`,
      rider_id: `user-${Math.floor(random() * 50000)}`,
      driver_id: random() < 0.8 ? `drv-${Math.floor(random() * 8000)}` : null,
      city: city.name,
      pickup: { lat: +(city.lat + (random() - 0.5) / 10).toFixed(5), lon: +(city.lon + (random() - 0.5) / 10).toFixed(5) },
      product: pick(random, PRODUCTS),
      fare_cents: 500 + Math.floor(random() * 6000),
      surge: +(1 + Math.floor(random() * 8) / 10).toFixed(1),
      device: pick(random, DEVICES),
      ts,
    };
  }
  return {
    type: "page_view",
    event_id: hexId(random, 16),
    session_id: hexId(random, 12),
    user_id: random() < 0.7 ? `user-${Math.floor(random() * 50000)}` : null,
    page: pick(random, PAGES),
    referrer: random() < 0.5 ? "https://www.example.com/" : pick(random, PAGES),
    user_agent: pick(random, AGENTS),
    viewport: { w: pick(random, [390, 412, 1280, 1440, 1920]), h: pick(random, [844, 915, 720, 900, 1080]) },
    duration_ms: Math.floor(random() * 20000),
    ts,
  };
}

/** Exactly `bytes` bytes of NDJSON events generated from `seed` (the last line is cut to fit). */
export function eventsNdjson(bytes: number, seed = 42): Uint8Array {
  const random = seededRandom(seed);
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const line = JSON.stringify(makeEvent(random, i)) + "\n";
    lines.push(line);
    total += line.length; // ASCII only, so characters are bytes.
  }
  return new TextEncoder().encode(lines.join("")).subarray(0, bytes);
}

if (import.meta.main) {
  const bytes = Number(process.argv[2] ?? 65536);
  const seed = Number(process.argv[3] ?? 42);
  process.stdout.write(eventsNdjson(bytes, seed));
}
