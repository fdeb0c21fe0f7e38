package ai.factory.training;

/**
 * How large a dataset may be. A record is one line; its bytes are counted as uploaded (UTF-8, without the line end).
 *
 * @param maxRecordBytes the longest record (line); a longer one is an error naming its line
 * @param maxDatasetBytes the largest upload; a larger one is refused with 413 as it streams in, before it is stored
 * @param maxRecords the most records one dataset holds; more is refused with 413
 */
public record DatasetLimits(int maxRecordBytes, long maxDatasetBytes, int maxRecords) {
    /**
     * The factory's limits: records up to 1 MiB (a long conversation, far beyond any context a model trains on),
     * datasets up to 512 MiB and 1,000,000 records (training jobs read a dataset's examples into memory).
     */
    public static final DatasetLimits DEFAULTS = new DatasetLimits(1 << 20, 512L << 20, 1_000_000);

    public DatasetLimits {
        if (maxRecordBytes < 1 || maxDatasetBytes < 1 || maxRecords < 1) {
            throw new IllegalArgumentException("dataset limits must be positive");
        }
    }
}
