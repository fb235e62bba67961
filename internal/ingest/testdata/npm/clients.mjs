// Sends one marked event with each real client library to the receivers
// started by internal/ingest/clients_test.go. Exits non-zero when a client
// reports a failure. Environment: TOKEN, ES_URL, HEC_URL, OTLP_URL,
// OTLP_GRPC_URL, LOKI_URL, FLUENT_HOST, FLUENT_PORT, FLUENT_SHARED_PORT, FLUENT_SHARED_KEY.
import { Client } from '@elastic/elasticsearch';
import SplunkLogger from 'splunk-logging';
import fluent from 'fluent-logger';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { OTLPLogExporter as OTLPGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import grpc from '@grpc/grpc-js';
import winston from 'winston';
import LokiTransport from 'winston-loki';

const env = process.env;
const failures = [];

async function elasticsearch() {
  const client = new Client({ node: env.ES_URL, auth: { username: 'mamori', password: env.TOKEN } });
  const info = await client.info();
  if (!info.version || !info.version.number) throw new Error('no version in GET /');
  const res = await client.bulk({ operations: [
    { index: { _index: 'npm-idx' } }, { '@timestamp': new Date().toISOString(), message: 'npm elasticsearch bulk' },
  ] });
  if (res.errors) throw new Error('bulk errors: ' + JSON.stringify(res.items));
  await client.index({ index: 'npm-idx', document: { message: 'npm elasticsearch index' } });
  await client.close();
}

function splunk() {
  return new Promise((resolve, reject) => {
    const logger = new SplunkLogger.Logger({ token: env.TOKEN, url: env.HEC_URL, maxRetries: 0 });
    logger.error = (err) => reject(err);
    logger.send({ message: 'npm splunk', metadata: { sourcetype: 'npmtest', host: 'nodehost' } }, (err, resp, body) => {
      if (err) return reject(err);
      if (resp.statusCode !== 200) return reject(new Error('HEC status ' + resp.statusCode + ' ' + JSON.stringify(body)));
      resolve();
    });
  });
}

function fluentd() {
  return new Promise((resolve, reject) => {
    const sender = fluent.createFluentSender('npm', { host: env.FLUENT_HOST, port: Number(env.FLUENT_PORT), timeout: 5.0, requireAckResponse: true, ackResponseTimeout: 5000 });
    sender.on('error', reject);
    sender.emit('label', { message: 'npm fluent', host: 'nodehost' }, (err) => {
      sender.end();
      if (err) reject(err); else resolve();
    });
  });
}

function fluentdShared() {
  return new Promise((resolve, reject) => {
    const sender = fluent.createFluentSender('npm', {
      host: env.FLUENT_HOST, port: Number(env.FLUENT_SHARED_PORT), timeout: 5.0, requireAckResponse: true, ackResponseTimeout: 5000,
      security: { clientHostname: 'nodehost', sharedKey: env.FLUENT_SHARED_KEY },
    });
    sender.on('error', reject);
    sender.emit('secure', { message: 'npm fluent shared key', host: 'nodehost' }, (err) => {
      sender.end();
      if (err) reject(err); else resolve();
    });
  });
}

async function loki() {
  // winston-loki sends protobuf + snappy; with batching off, one push per log.
  let failed = null;
  const transport = new LokiTransport({
    host: env.LOKI_URL, basicAuth: 'tenant1:' + env.TOKEN, batching: false, json: false,
    labels: { job: 'npm-loki' }, onConnectionError: (err) => { failed = err; },
  });
  const logger = winston.createLogger({ transports: [transport] });
  logger.info('npm loki', { labels: { host: 'nodehost' } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  logger.close();
  if (failed) throw failed;
}

async function otlp() {
  await emitOTLP(new OTLPLogExporter({ url: env.OTLP_URL, headers: { Authorization: 'Bearer ' + env.TOKEN } }), 'npm otlp');
}

async function otlpGrpc() {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', 'Bearer ' + env.TOKEN);
  await emitOTLP(new OTLPGrpcLogExporter({ url: env.OTLP_GRPC_URL, metadata }), 'npm otlp grpc');
}

async function emitOTLP(exporter, body) {
  const provider = new LoggerProvider({ resource: new Resource({ 'service.name': 'npm-otel', 'host.name': 'nodehost' }) });
  let exportErr = null;
  const origExport = exporter.export.bind(exporter);
  exporter.export = (logs, done) => origExport(logs, (result) => { if (result.code !== 0) exportErr = result.error || new Error('export failed'); done(result); });
  provider.addLogRecordProcessor(new BatchLogRecordProcessor(exporter));
  provider.getLogger('npm').emit({ body, severityText: 'INFO', severityNumber: 9, attributes: { 'npm.attr': 'v' } });
  await provider.forceFlush();
  await provider.shutdown();
  if (exportErr) throw exportErr;
}

for (const [name, fn] of Object.entries({ elasticsearch, splunk, fluentd, fluentdShared, loki, otlp, otlpGrpc })) {
  try {
    await fn();
    console.log('ok', name);
  } catch (err) {
    failures.push(name);
    console.error('FAIL', name, err && (err.stack || err));
  }
}
process.exit(failures.length ? 1 : 0);
