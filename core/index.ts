// Public exports of core/: what tools, the server and the SDK share.
export { crc32c } from "./formats/crc32c.ts";
export { type Result } from "./formats/result.ts";
