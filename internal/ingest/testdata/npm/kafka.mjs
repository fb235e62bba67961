// Produces marked records with kafkajs to the in-process kfake cluster
// started by internal/ingest/kafka/realclient_test.go. Exits non-zero when
// the producer reports a failure. Environment: BROKERS (comma separated),
// TOPIC, MARK, COUNT.
import { Kafka, logLevel } from 'kafkajs';

const env = process.env;
const kafka = new Kafka({ clientId: 'mamori-test', brokers: env.BROKERS.split(','), logLevel: logLevel.ERROR, retry: { retries: 3 } });
const producer = kafka.producer({ allowAutoTopicCreation: false });
try {
  await producer.connect();
  const messages = [];
  for (let i = 0; i < Number(env.COUNT); i++) {
    messages.push({
      key: 'kafkajs-' + i,
      value: JSON.stringify({ '@timestamp': '2026-11-25T10:00:00Z', message: `${env.MARK} ${i}`, host: 'nodehost' }),
      headers: { origin: 'kafkajs' },
    });
  }
  await producer.send({ topic: env.TOPIC, messages });
  await producer.disconnect();
} catch (err) {
  console.error('kafkajs:', err);
  process.exit(1);
}
