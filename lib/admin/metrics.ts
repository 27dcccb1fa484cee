// collectStats()'s figures as Prometheus metric families, labelled by kind and name:
// what `podshm metrics` serves. Counters are the headers' own totals (Prometheus
// computes the rates); an unknown figure (unreadable, or scribbled on) has no sample.
import { type Labels, type MetricFamily } from '../core/exposition';
import type { ChannelFigures, ServiceFigures, StatsSnapshot, TopicFigures } from './stats';

type ChannelMetric = { name: string; help: string; type: 'counter' | 'gauge'; value: (c: ChannelFigures) => number | null; labels?: Labels };

const CHANNEL: ChannelMetric[] = [
  { name: 'podshm_channel_sent_messages_total', help: 'Messages sent by all producers.', type: 'counter', value: (c) => c.messagesSent },
  { name: 'podshm_channel_sent_bytes_total', help: 'Payload bytes sent by all producers.', type: 'counter', value: (c) => c.bytesSent },
  { name: 'podshm_channel_received_messages_total', help: "Messages received, as of the consumer's last tail publication.", type: 'counter', value: (c) => c.messagesReceived },
  { name: 'podshm_channel_received_bytes_total', help: "Payload bytes received, as of the consumer's last tail publication.", type: 'counter', value: (c) => c.bytesReceived },
  { name: 'podshm_channel_capacity_bytes', help: 'Bytes of the ring.', type: 'gauge', value: (c) => c.capacity },
  { name: 'podshm_channel_used_bytes', help: 'Bytes of the ring not yet released by the consumer (the fill level).', type: 'gauge', value: (c) => c.usedBytes },
  { name: 'podshm_channel_lag_messages', help: 'Messages sent and not yet received.', type: 'gauge', value: (c) => c.lagMessages },
  { name: 'podshm_channel_last_message_timestamp_seconds', help: 'When the consumer last waited, caught up, after receiving: just after the last message (Unix time).', type: 'gauge', value: (c) => (c.lastMessageAt === null ? null : c.lastMessageAt / 1000) },
];

const SIDES = [
  { side: 'producer', waits: (c: ChannelFigures) => c.producerWaits, wakeups: (c: ChannelFigures) => c.producerWakeups },
  { side: 'consumer', waits: (c: ChannelFigures) => c.consumerWaits, wakeups: (c: ChannelFigures) => c.consumerWakeups },
];

const CONSUMER_STATES = ['live', 'closed', 'died', 'none'] as const;

type Metric<T> = { name: string; help: string; type: 'counter' | 'gauge'; value: (f: T) => number | null };

const TOPIC: Metric<TopicFigures>[] = [
  { name: 'podshm_topic_published_messages_total', help: 'Messages published by every publisher.', type: 'counter', value: (t) => t.messagesSent },
  { name: 'podshm_topic_published_bytes_total', help: 'Payload bytes published by every publisher.', type: 'counter', value: (t) => t.bytesSent },
  { name: 'podshm_topic_capacity_bytes', help: 'Bytes of the ring.', type: 'gauge', value: (t) => t.capacity },
  { name: 'podshm_topic_used_bytes', help: 'Bytes from the oldest record still in the ring to the head (the fill level).', type: 'gauge', value: (t) => t.usedBytes },
  { name: 'podshm_topic_max_lag_messages', help: 'The farthest an attached subscriber is behind, in messages.', type: 'gauge', value: (t) => t.maxLagMessages },
  { name: 'podshm_topic_max_lag_bytes', help: 'The farthest an attached subscriber is behind, in bytes.', type: 'gauge', value: (t) => t.maxLagBytes },
];

const SERVICE: Metric<ServiceFigures>[] = [
  { name: 'podshm_service_workers', help: 'Servers serving now (1 or 0).', type: 'gauge', value: (s) => s.workers },
  { name: 'podshm_service_calls_total', help: 'Handlers started, by every server the service has had.', type: 'counter', value: (s) => s.callsStarted },
  { name: 'podshm_service_calls_running', help: 'Handlers running now.', type: 'gauge', value: (s) => s.callsRunning },
  { name: 'podshm_service_calls_in_flight', help: 'Calls made by live clients and not yet settled.', type: 'gauge', value: (s) => s.callsInFlight },
];

export function objectMetrics(s: StatsSnapshot): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, help: string, type: MetricFamily['type'], labels: Labels, value: number | null): void => {
    if (value === null) return;
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help, type, samples: [] }));
    f.samples.push({ labels, value });
  };
  for (const [source, error] of Object.entries(s.errors)) {
    add('podshm_source_readable', 'Whether the objects of a source (posix: the shm directory, sysv, mqueue) could be listed.', 'gauge', { source }, error === null ? 1 : 0);
  }
  for (const o of s.objects) {
    const labels = { kind: o.kind, name: o.name };
    add('podshm_object_size_bytes', 'Bytes of the object.', 'gauge', labels, o.size);
    add('podshm_object_live_participants', 'Live participants: the owners of a mutex, the publishers and subscribers of a topic; processes attached to a System V segment.', 'gauge', labels, o.live);
    add('podshm_mqueue_queued_bytes', 'Bytes of messages waiting in a message queue.', 'gauge', labels, o.queuedBytes);
    add('podshm_object_readable', '1 if the figures of the object could be read, 0 if not (the problem is in podshm top).', 'gauge', labels, o.problem === null ? 1 : 0);
    const t = o.topic;
    if (t !== null) {
      for (const m of TOPIC) add(m.name, m.help, m.type, labels, m.value(t));
      add('podshm_topic_publishers', 'Publisher slots by state: attached now (live) or last owner gone.', 'gauge', { ...labels, state: 'live' }, t.publishersLive);
      add('podshm_topic_publishers', 'Publisher slots by state: attached now (live) or last owner gone.', 'gauge', { ...labels, state: 'gone' }, t.publishersGone);
      add('podshm_topic_subscribers', 'Attached subscribers by state: live, or dead (holding room until a publisher reclaims the slot).', 'gauge', { ...labels, state: 'live' }, t.subscribersLive);
      add('podshm_topic_subscribers', 'Attached subscribers by state: live, or dead (holding room until a publisher reclaims the slot).', 'gauge', { ...labels, state: 'dead' }, t.subscribersDead);
      for (const sub of t.subscribers) {
        const l = { ...labels, subscriber: String(sub.slot), state: sub.state };
        add('podshm_topic_subscriber_lag_messages', 'How far a subscriber is behind the head, in messages, as of the cursor it last published.', 'gauge', l, sub.lagMessages);
        add('podshm_topic_subscriber_lag_bytes', 'How far a subscriber is behind the head, in bytes.', 'gauge', l, sub.lagBytes);
        add('podshm_topic_subscriber_received_messages_total', 'Messages a subscriber received, as of its last cursor publication.', 'counter', l, sub.receivedMessages);
        add('podshm_topic_subscriber_lost_messages_total', "Messages an 'overwrite' publisher overwrote before a subscriber read them.", 'counter', l, sub.lostMessages);
      }
    }
    const sv = o.service;
    if (sv !== null) {
      for (const m of SERVICE) add(m.name, m.help, m.type, labels, m.value(sv));
      add('podshm_service_clients', 'Clients by state: live, or dead (their ring not yet removed).', 'gauge', { ...labels, state: 'live' }, sv.clientsLive);
      add('podshm_service_clients', 'Clients by state: live, or dead (their ring not yet removed).', 'gauge', { ...labels, state: 'dead' }, sv.clientsDead);
    }
    if (o.client !== null) {
      const l = { ...labels, service: o.client.service };
      add('podshm_client_calls_total', 'Calls a client made.', 'counter', l, o.client.callsMade);
      add('podshm_client_calls_in_flight', 'Calls a client made and has not settled yet.', 'gauge', l, o.client.callsInFlight);
    }
    const c = o.channel;
    if (c === null) continue;
    for (const m of CHANNEL) add(m.name, m.help, m.type, labels, m.value(c));
    for (const { side, waits, wakeups } of SIDES) {
      add('podshm_channel_waits_total', 'Waits begun: for a message (consumer) or for room (producer).', 'counter', { ...labels, side }, waits(c));
      add('podshm_channel_wakeups_total', 'Wake-ups made for a sleeping peer (a futex wake or a bell ring).', 'counter', { ...labels, side }, wakeups(c));
    }
    add('podshm_channel_producers', 'Producer slots by state: attached now (live) or last owner gone.', 'gauge', { ...labels, state: 'live' }, c.producersLive);
    add('podshm_channel_producers', 'Producer slots by state: attached now (live) or last owner gone.', 'gauge', { ...labels, state: 'gone' }, c.producersGone);
    if (c.consumer !== null) {
      for (const state of CONSUMER_STATES) add('podshm_channel_consumer', 'The consumer: 1 for its state (live, closed, died, none).', 'gauge', { ...labels, state }, c.consumer === state ? 1 : 0);
    }
  }
  return [...families.values()];
}
