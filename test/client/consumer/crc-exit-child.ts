// Child of crc-verifier.test.ts: consumes `count` records of `topic` from the broker at `address` with the SDK's
// Consumer (large answers, so its CRC worker starts), disconnects and returns without process.exit(): the test
// checks that the process then ends on its own (the worker is terminated and unref()'d).
import { Rivulet } from "../../../client/index.ts";

const [address, topic, countText] = process.argv.slice(2);
const count = Number(countText);
const rivulet = new Rivulet({ brokers: [address as string], clientId: "crc-exit-child" });
const consumer = rivulet.consumer({ "auto.offset.reset": "earliest" });
await consumer.connect();
consumer.assign([{ topic: topic as string, partition: 0, offset: 0 }]);
let read = 0;
for await (const batch of consumer.batches()) {
  read += batch.messages.length;
  if (read >= count) break;
}
await consumer.disconnect();
console.log(`read ${read}`);
