// The Worker entry of `rivulet perf e2e`'s consumer (client/cli/perf-e2e-consumer.ts says why it has a thread of
// its own). The first message is `start`; the rest go to the consumer; it posts back ready, progress, done or
// failed. A compiled binary holds it only when the build lists this file as an entry point next to server/main.ts.
import { E2eConsumer, type FromE2eConsumer, type ToE2eConsumer } from "./perf-e2e-consumer.ts";

declare const self: Worker;

let consumer: E2eConsumer | null = null;

self.addEventListener("message", (event: MessageEvent<ToE2eConsumer>) => {
  const message = event.data;
  if (message.type === "start") {
    if (consumer !== null) return;
    consumer = new E2eConsumer(message.options, (reply: FromE2eConsumer) => self.postMessage(reply));
    void consumer.run();
  } else consumer?.receive(message);
});
