package ai.factory.cli;

import static ai.factory.cli.ModelsCommand.printJson;

import ai.factory.Json;
import ai.factory.api.codec.admin.TrainingJobWire.CreateJob;
import ai.factory.api.codec.admin.TrainingJobWire.Job;
import ai.factory.api.codec.admin.TrainingJobWire.JobList;
import ai.factory.api.codec.admin.TrainingJobWire.Metric;
import ai.factory.api.codec.admin.TrainingJobWire.Metrics;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code factory tune …}: fine-tuning jobs. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = "Fine-tune a model on a dataset: create a job and follow it, list, show, read the loss curve, "
                + "chart it, cancel.")
final class TuneCommand {
    /** Its subcommands, in the order help lists them (see {@link FactoryCli#commandLine}). */
    static final List<Class<?>> SUBCOMMANDS = List.of(Create.class, ListJobs.class, Show.class, Logs.class,
            Cancel.class, ChartJob.class);

    static final String JOBS = "/api/v1/training-jobs";

    /** How often a waiting command asks for the job again: a person watches steps of a second or more. */
    private static final Duration POLL = Duration.ofMillis(500);

    private static final Set<String> ENDED = Set.of("completed", "failed", "stopped");

    static String path(String job) {
        return JOBS + "/" + URLEncoder.encode(job, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static boolean ended(Job job) {
        return ENDED.contains(job.status());
    }

    /** The exit code of an ended job: 0 when it completed, else 1 with why on stderr. */
    static int outcome(CommandSpec spec, Job job) {
        if (job.status().equals("completed")) {
            return 0;
        }
        spec.commandLine().getErr().println("factory: training job " + job.id() + " " + job.status()
                + (job.failure() == null ? "" : ": " + job.failure().lines().findFirst().orElse("")));
        spec.commandLine().getErr().flush();
        return 1;
    }

    static String loss(@Nullable Double value) {
        return value == null ? "-" : String.format(Locale.ROOT, "%.4f", value);
    }

    static String elapsed(Job job) {
        if (job.startedAt() == null) {
            return "-";
        }
        return clock(Duration.between(job.startedAt(), job.endedAt() == null ? Instant.now() : job.endedAt()));
    }

    /** A duration as m:ss, or h:mm:ss from an hour. */
    static String clock(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** The epochs the job was asked for, as its hyperparameters record them. */
    static String epochs(Job job) {
        String count = job.hyperparameters().get("epochCount");
        return count == null ? "?" : count;
    }

    /** One line of a job's progress: step/total, epoch, the latest step's loss, validation loss, tokens/s, time. */
    static String progress(Job job, List<Metric> metrics) {
        Double tokens = null;
        for (Metric m : metrics.reversed()) {
            if (m.tokensPerSecond() != null) {
                tokens = m.tokensPerSecond();
                break;
            }
        }
        if (job.status().equals("queued")) {
            return job.id() + ": queued";
        }
        return String.format(Locale.ROOT, "%s: %s  step %d/%s  epoch %d/%s  loss %s  validation %s  %s tokens/s  %s",
                job.id(), job.status(), job.stepsDone(), job.totalSteps() == 0 ? "?" : job.totalSteps(),
                job.epochsDone(), epochs(job), loss(job.trainingLoss()), loss(job.validationLoss()),
                tokens == null ? "-" : String.format(Locale.ROOT, "%.0f", tokens), elapsed(job));
    }

    /** The line of an ended epoch, for output that is not a terminal. */
    static String epochLine(Job job, Metric epoch, List<Metric> metrics) {
        Double tokens = null;
        for (Metric m : metrics) {
            if (m.step() <= epoch.step() && m.tokensPerSecond() != null) {
                tokens = m.tokensPerSecond();
            }
        }
        String elapsed = job.startedAt() == null ? "-"
                : clock(Duration.between(job.startedAt(), epoch.at()));
        return String.format(Locale.ROOT, "%s: epoch %d/%s  step %d/%s  loss %s  validation %s  %s tokens/s  %s",
                job.id(), epoch.epoch(), epochs(job), epoch.step(), job.totalSteps() == 0 ? "?" : job.totalSteps(),
                loss(epoch.loss()), loss(epoch.validationLoss()),
                tokens == null ? "-" : String.format(Locale.ROOT, "%.0f", tokens), elapsed);
    }

    /** A metric as one line of the loss curve. */
    static String line(Metric m) {
        if (m.kind().equals("epoch")) {
            return String.format(Locale.ROOT, "epoch %d  step %d  loss %s  validation %s  %s", m.epoch(), m.step(),
                    loss(m.loss()), loss(m.validationLoss()), m.at());
        }
        return String.format(Locale.ROOT, "step %d  epoch %d  loss %s  lr %s  %s tokens/s  %s", m.step(), m.epoch(),
                loss(m.loss()), m.learningRate() == null ? "-" : String.format(Locale.ROOT, "%.3g", m.learningRate()),
                m.tokensPerSecond() == null ? "-" : String.format(Locale.ROOT, "%.0f", m.tokensPerSecond()), m.at());
    }

    /** Where a metric lies on the curve: steps in order, a step's epoch line after it. */
    static long position(Metric m) {
        return m.step() * 2L + (m.kind().equals("epoch") ? 1 : 0);
    }

    static Metrics metrics(FactoryClient http, String job) {
        return http.get(path(job) + "/metrics", Metrics.class);
    }

    /**
     * A running job's loss curve, fetched a piece at a time: each {@link #poll} asks only for the points from the
     * last step it has on ({@code ?after=}), so following a long job costs the same per poll at its end as at its
     * start. The last step is asked for again, since its epoch point is written after its step point.
     */
    static final class CurveFollower {
        private final FactoryClient http;
        private final String job;
        private final List<Metric> curve = new ArrayList<>();
        private long seen = -1;

        CurveFollower(FactoryClient http, String job) {
            this.http = http;
            this.job = job;
        }

        /** Fetches what is new and returns it, in order. */
        List<Metric> poll() {
            int lastStep = curve.isEmpty() ? 0 : curve.getLast().step();
            String query = lastStep > 0 ? "?after=" + (lastStep - 1) : "";
            List<Metric> fresh = new ArrayList<>();
            for (Metric m : http.get(path(job) + "/metrics" + query, Metrics.class).metrics()) {
                if (position(m) > seen) {
                    fresh.add(m);
                    seen = position(m);
                }
            }
            curve.addAll(fresh);
            return fresh;
        }

        /** Every point fetched so far. */
        List<Metric> curve() {
            return curve;
        }
    }

    static void chart(Job job, List<Metric> metrics, Path file) {
        try {
            LossChart.write(job.name() + " (" + job.id() + "): " + job.baseModel() + " on " + job.trainingDataset(),
                    metrics, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Create a fine-tuning job: train BASE on a dataset and register the result as a new "
                    + "version of --output.",
                    "Hyperparameters left out take the server's defaults. With --wait, follow the job to its end: a "
                            + "progress line redrawn in place on a terminal, else a line per epoch; exit 0 when it "
                            + "completed, 1 with the reason when it failed or was stopped. Interrupting the wait leaves the job "
                            + "running ('factory tune cancel JOB' stops it)."})
    static final class Create implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "BASE", description = "The model to fine-tune, NS/MODEL or NS/MODEL:VERSION.")
        String base;

        @Option(names = "--data", required = true, paramLabel = "NS/NAME", description = "The training dataset.")
        String data;

        @Option(names = "--validation", paramLabel = "NS/NAME",
                description = "A dataset to measure validation loss on after each epoch.")
        @Nullable String validation;

        @Option(names = "--output", required = true, paramLabel = "NS/NAME",
                description = "The model the result is registered as (a new version of it).")
        String output;

        @Option(names = "--name", paramLabel = "JOB", description = "The job's name (default: made up).")
        @Nullable String name;

        @Option(names = "--project", description = "Project the job and its result belong to (default: the caller's).")
        @Nullable String project;

        @Option(names = "--epochs", paramLabel = "N", description = "Passes over the training data (epochCount).")
        @Nullable Integer epochs;

        @Option(names = "--lr", paramLabel = "X", description = "Peak learning rate (learningRate).")
        @Nullable Double learningRate;

        @Option(names = "--batch", paramLabel = "N", description = "Examples per optimizer step (batchSize).")
        @Nullable Integer batch;

        @Option(names = "--ctx", paramLabel = "N", description = "Tokens per training window (contextLength).")
        @Nullable Integer context;

        @Option(names = "--warmup", paramLabel = "N",
                description = "Steps of learning-rate warm-up (learningRateWarmupSteps).")
        @Nullable Integer warmup;

        @Option(names = "--train-layers", paramLabel = "N",
                description = "Train only the last N layers (trainLayers; 0: all).")
        @Nullable Integer trainLayers;

        @Option(names = "--train-tensors", paramLabel = "all|attention|ffn",
                description = "Which tensors of those layers train: all (default), attention or ffn (trainTensors).")
        @Nullable String trainTensors;

        @Option(names = "--seed", paramLabel = "N", description = "The seed of each epoch's shuffle (seed).")
        @Nullable Long seed;

        @Option(names = "--validation-split", paramLabel = "X",
                description = "Share of the training data held out for validation, without --validation "
                        + "(validationSplit).")
        @Nullable Double validationSplit;

        @Option(names = "--checkpoint-steps", paramLabel = "N",
                description = "Steps between checkpoints a restart resumes from (checkpointSteps).")
        @Nullable Integer checkpointSteps;

        @Option(names = "--wait", description = "Follow the job until it ends.")
        boolean waitForEnd;

        @Option(names = "--chart", paramLabel = "FILE.png",
                description = "With --wait: draw the loss curve (step losses, epoch validation losses) at the end.")
        @Nullable Path chart;

        Map<String, Object> hyperparameters() {
            Map<String, Object> values = new LinkedHashMap<>();
            putIfGiven(values, "epochCount", epochs);
            putIfGiven(values, "learningRate", learningRate);
            putIfGiven(values, "batchSize", batch);
            putIfGiven(values, "contextLength", context);
            putIfGiven(values, "learningRateWarmupSteps", warmup);
            putIfGiven(values, "trainLayers", trainLayers);
            putIfGiven(values, "trainTensors", trainTensors);
            putIfGiven(values, "seed", seed);
            putIfGiven(values, "validationSplit", validationSplit);
            putIfGiven(values, "checkpointSteps", checkpointSteps);
            return values;
        }

        private static void putIfGiven(Map<String, Object> values, String name, @Nullable Object value) {
            if (value != null) {
                values.put(name, value);
            }
        }

        @Override
        public Integer call() throws InterruptedException {
            if (chart != null && !waitForEnd) {
                throw new ParameterException(spec.commandLine(), "--chart needs --wait (or use 'factory tune chart "
                        + "JOB --out FILE.png' once the job has ended)");
            }
            FactoryClient http = client.client();
            Job job = http.post(JOBS, new CreateJob(name, base, data, validation, output, project, hyperparameters()),
                    Job.class);
            PrintWriter out = spec.commandLine().getOut();
            if (!waitForEnd) {
                if (client.json) {
                    printJson(out, job);
                } else {
                    out.printf("Created training job %s (%s): %s on %s -> %s, %s%n", job.id(), job.name(),
                            job.baseModel(), job.trainingDataset(), job.outputModel(), job.status());
                    out.flush();
                }
                return 0;
            }
            job = follow(http, job);
            List<Metric> metrics = metrics(http, job.id()).metrics();
            if (chart != null && !metrics.isEmpty()) {
                chart(job, metrics, chart);
            }
            if (client.json) {
                printJson(out, job);
            } else if (job.status().equals("completed")) {
                out.printf("Training job %s completed: %s:%s (%d steps, training loss %s, validation loss %s, %s)%n",
                        job.id(), job.outputModel(), job.outputVersion(), job.stepsDone(), loss(job.trainingLoss()),
                        loss(job.validationLoss()), elapsed(job));
                if (chart != null) {
                    out.println("Loss curve: " + chart);
                }
                out.flush();
            }
            return outcome(spec, job);
        }

        /** Polls the job until it ends, drawing its progress on stderr. */
        private Job follow(FactoryClient http, Job created) throws InterruptedException {
            PrintWriter err = spec.commandLine().getErr();
            boolean live = !client.json && terminal();
            Job job = created;
            CurveFollower follower = new CurveFollower(http, job.id());
            int shownEpoch = 0;
            String shown = "";
            while (true) {
                boolean done = ended(job);
                if (!client.json) {
                    if (job.stepsDone() > 0) {
                        follower.poll();
                    }
                    List<Metric> metrics = follower.curve();
                    String line = progress(job, metrics);
                    if (live) {
                        if (!line.equals(shown)) {
                            // Back to the line's start, the line, then clear what a longer line left behind.
                            err.print("\r" + line + "\u001b[K");
                            err.flush();
                            shown = line;
                        }
                    } else {
                        if (!job.status().equals(shown)) {
                            err.println(job.id() + ": " + job.status());
                            shown = job.status();
                        }
                        for (Metric m : metrics) {
                            if (m.kind().equals("epoch") && m.epoch() > shownEpoch) {
                                err.println(epochLine(job, m, metrics));
                                shownEpoch = m.epoch();
                            }
                        }
                        err.flush();
                    }
                }
                if (done) {
                    if (live) {
                        err.println();
                        err.flush();
                    }
                    return job;
                }
                Thread.sleep(POLL);
                job = http.get(path(job.id()), Job.class);
            }
        }

        private static boolean terminal() {
            java.io.Console console = System.console();
            return console != null && console.isTerminal();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the training jobs the key may read.")
    static final class ListJobs implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Override
        public Integer call() {
            JobList result = client.client().get(JOBS, JobList.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, result);
                return 0;
            }
            Table table = new Table("ID", "NAME", "STATUS", "BASE", "OUTPUT", "STEPS", "LOSS", "CREATED");
            for (Job j : result.jobs()) {
                table.row(j.id(), j.name(), j.status(), j.baseModel(),
                        j.outputModel() + (j.outputVersion() == null ? "" : ":" + j.outputVersion()),
                        j.stepsDone() + "/" + (j.totalSteps() == 0 ? "?" : j.totalSteps()), loss(j.trainingLoss()),
                        String.valueOf(j.createdAt()));
            }
            table.print(out);
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show a training job: status, hyperparameters, datasets and their digests, losses, result.")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "JOB", description = "The job's id or name.")
        String job;

        @Override
        public Integer call() {
            Job j = client.client().get(path(job), Job.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, j);
                return 0;
            }
            Table table = new Table("FIELD", "VALUE");
            table.row("id", j.id()).row("name", j.name()).row("project", j.project()).row("status", j.status());
            if (j.failure() != null) {
                table.row("failure", j.failure().lines().findFirst().orElse(""));
            }
            table.row("base model", j.baseModel()).row("base sha256", j.baseSha256())
                    .row("training data", j.trainingDataset()).row("training sha256", j.trainingSha256());
            if (j.validationDataset() != null) {
                table.row("validation data", j.validationDataset()).row("validation sha256", String.valueOf(j.validationSha256()));
            }
            j.hyperparameters().forEach((k, v) -> table.row("hyperparameter " + k, v));
            table.row("steps", j.stepsDone() + "/" + (j.totalSteps() == 0 ? "?" : j.totalSteps()))
                    .row("epochs", j.epochsDone() + "/" + epochs(j))
                    .row("training loss", loss(j.trainingLoss())).row("validation loss", loss(j.validationLoss()))
                    .row("checkpoint step", j.checkpointStep())
                    .row("output model", j.outputModel() + (j.outputVersion() == null ? "" : ":" + j.outputVersion()))
                    .row("created", String.valueOf(j.createdAt())).row("created by", j.createdBy())
                    .row("started", j.startedAt() == null ? "-" : j.startedAt().toString())
                    .row("ended", j.endedAt() == null ? "-" : j.endedAt().toString()).row("elapsed", elapsed(j));
            table.print(out);
            return 0;
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = {"Print a job's loss curve: a line per step (loss, learning rate, tokens/s) and per epoch "
                    + "(training and validation loss).",
                    "With --follow, keep printing until the job ends; exit 0 when it completed, 1 with the reason "
                            + "when it failed or was stopped. With --json, the curve as one JSON document, or with "
                            + "--follow as JSON Lines, one point a line."})
    static final class Logs implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "JOB", description = "The job's id or name.")
        String job;

        @Option(names = {"-f", "--follow"}, description = "Keep printing new points until the job ends.")
        boolean follow;

        @Override
        public Integer call() throws InterruptedException {
            FactoryClient http = client.client();
            PrintWriter out = spec.commandLine().getOut();
            Job j = http.get(path(job), Job.class);
            if (!follow) {
                Metrics metrics = metrics(http, j.id());
                if (client.json) {
                    printJson(out, metrics);
                } else {
                    metrics.metrics().forEach(m -> out.println(line(m)));
                    out.flush();
                }
                return 0;
            }
            CurveFollower follower = new CurveFollower(http, j.id());
            while (true) {
                boolean done = ended(j);
                for (Metric m : follower.poll()) {
                    out.println(client.json ? json(m) : line(m));
                }
                out.flush();
                if (done) {
                    return outcome(spec, j);
                }
                Thread.sleep(POLL);
                j = http.get(path(j.id()), Job.class);
            }
        }

        private static String json(Metric m) {
            try {
                return Json.mapper().writeValueAsString(m);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Stop a training job: a running one stops at its next step and registers nothing.")
    static final class Cancel implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "JOB", description = "The job's id or name.")
        String job;

        @Override
        public Integer call() {
            Job j = client.client().post(path(job) + "/cancel", Map.of(), Job.class);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, j);
            } else {
                out.printf("Training job %s is %s (step %d/%s)%n", j.id(), j.status(), j.stepsDone(),
                        j.totalSteps() == 0 ? "?" : j.totalSteps());
                out.flush();
            }
            return 0;
        }
    }

    @Command(name = "chart", mixinStandardHelpOptions = true,
            description = "Draw a job's loss curve as a PNG: every step's loss and every epoch's validation loss.")
    static final class ChartJob implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin ClientOptions client;

        @Parameters(paramLabel = "JOB", description = "The job's id or name.")
        String job;

        @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "Where to write the chart.")
        Path file;

        @Override
        public Integer call() {
            FactoryClient http = client.client();
            Job j = http.get(path(job), Job.class);
            List<Metric> metrics = metrics(http, j.id()).metrics();
            if (metrics.isEmpty()) {
                throw new IllegalStateException("training job " + j.id() + " has no losses yet (" + j.status() + ")");
            }
            chart(j, metrics, file);
            PrintWriter out = spec.commandLine().getOut();
            if (client.json) {
                printJson(out, Map.of("job", j.id(), "chart", file.toString(), "points", metrics.size()));
            } else {
                out.printf("Wrote the loss curve of %s (%d points) to %s%n", j.id(), metrics.size(), file);
                out.flush();
            }
            return 0;
        }
    }
}
