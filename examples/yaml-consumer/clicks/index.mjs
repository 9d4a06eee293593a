// The clicks consumer: reports the records it cannot handle, so only they are retried and,
// after the mapping's retries, archived.
export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records ?? []) {
    const image = record.dynamodb?.NewImage ?? {};
    if (!image.pk?.S) batchItemFailures.push({ itemIdentifier: record.dynamodb?.SequenceNumber });
  }
  return { batchItemFailures };
};
