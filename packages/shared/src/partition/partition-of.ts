/**
 * The partition of an event: FNV-1a (32-bit) of the UTF-8 bytes of its key, modulo the number
 * of partitions. The key is the CloudEvents `partitionkey` extension, else `subject`, else the
 * event id. Simple to write in any language; test vectors in the README ("Partitions").
 */
export function partitionOf(key: string, partitions: number): number {
  if (partitions <= 1) return 0;
  return fnv1a32(key) % partitions;
}

/** The key an event is partitioned by. */
export function partitionKeyOf(event: { id: string; subject?: string | undefined; partitionkey?: string | undefined }): string {
  return event.partitionkey ?? event.subject ?? event.id;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`: offset basis 2166136261, prime 16777619. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
