package ai.factory.cli;

import static ai.factory.cli.FactoryCliTest.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ai.factory.ServerTest;
import ai.factory.TestFactory;
import ai.factory.TestModels;
import ai.factory.cli.FactoryCliTest.Run;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code factory tune} against a running factory: a job on the tiny model and the capitals corpus followed to its end
 * with a loss chart, then listed, shown, its loss curve printed and charted, and its model's lineage shown; a long job
 * followed with --wait is cancelled and the wait exits 1; bad arguments are usage errors, unknown jobs fail in one line.
 */
@ServerTest
class TuneCliTest {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    static Path home;

    static TestFactory factory;

    @BeforeAll
    static void start() throws Exception {
        factory = TestFactory.start(home);
        Run imported = local("models", "import", TestModels.tinyLlama().toString(), "--name", "acme/base");
        assertThat(imported.exit()).as(imported.err()).isZero();
        Path corpus = home.resolve("capitals.jsonl");
        try (InputStream in = TuneCliTest.class.getResourceAsStream("/ai/factory/training/capitals.jsonl")) {
            Files.write(corpus, in.readAllBytes());
        }
        Run uploaded = local("datasets", "upload", corpus.toString(), "--name", "acme/capitals");
        assertThat(uploaded.exit()).as(uploaded.err()).isZero();
    }

    @AfterAll
    static void stop() {
        TestFactory.closeAll(factory);
    }

    static Run local(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--home");
        all.add(home.toString());
        return cli(all.toArray(String[]::new));
    }

    private static boolean isPng(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        return bytes.length > 1000 && bytes[0] == (byte) 0x89 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G';
    }

    @Test
    void aJobFollowedToItsEndIsListedShownLoggedChartedAndItsModelShowsItsLineage(@TempDir Path dir)
            throws Exception {
        Path chart = dir.resolve("loss.png");
        Run done = local("tune", "create", "acme/base", "--data", "acme/capitals", "--output", "acme/capitals-tuned",
                "--name", "tune-capitals", "--epochs", "6", "--lr", "0.02", "--ctx", "256", "--validation-split",
                "0.125", "--wait", "--chart", chart.toString());
        assertThat(done.exit()).as(done.err()).isZero();
        assertThat(done.out()).contains("completed: acme/capitals-tuned:1", "Loss curve: " + chart);
        assertThat(done.err()).as("a line per epoch when stderr is not a terminal").contains("epoch 1/6", "epoch 6/6")
                .doesNotContain("\r");
        assertThat(done.err().lines().filter(l -> l.contains(" epoch ")).count()).isEqualTo(6);
        assertThat(isPng(chart)).isTrue();

        Run list = local("tune", "list", "--json");
        assertThat(list.exit()).as(list.err()).isZero();
        JsonNode listed = list.json().path("jobs").findParents("name").stream()
                .filter(j -> j.path("name").asText().equals("tune-capitals")).findFirst().orElseThrow();
        String id = listed.path("id").asText();
        assertThat(listed.path("status").asText()).isEqualTo("completed");
        assertThat(local("tune", "list").out()).contains("ID", "STATUS", id, "tune-capitals", "completed",
                "acme/base:1", "acme/capitals-tuned:1");

        JsonNode job = local("tune", "show", id, "--json").json();
        assertThat(job.path("id").asText()).isEqualTo(id);
        assertThat(job.path("stepsDone").asInt()).isPositive().isEqualTo(job.path("totalSteps").asInt());
        assertThat(job.path("epochsDone").asInt()).isEqualTo(6);
        assertThat(job.path("hyperparameters").path("epochCount").asText()).isEqualTo("6");
        assertThat(job.path("hyperparameters").path("learningRate").asText()).isEqualTo("0.02");
        assertThat(job.path("hyperparameters").path("contextLength").asText()).isEqualTo("256");
        assertThat(job.path("validationLoss").isNumber()).isTrue();
        String trainingSha = job.path("trainingSha256").asText();
        Run shown = local("tune", "show", "tune-capitals");
        assertThat(shown.exit()).as(shown.err()).isZero();
        assertThat(shown.out()).contains(id, "training sha256", trainingSha, job.path("baseSha256").asText(),
                "hyperparameter epochCount", "acme/capitals-tuned:1", "validation loss");

        JsonNode metrics = local("tune", "logs", id, "--json").json();
        assertThat(metrics.path("job").asText()).isEqualTo(id);
        List<JsonNode> points = new ArrayList<>();
        metrics.path("metrics").forEach(points::add);
        assertThat(points.stream().filter(m -> m.path("kind").asText().equals("step")).count())
                .isEqualTo(job.path("stepsDone").asLong());
        assertThat(points.stream().filter(m -> m.path("kind").asText().equals("epoch")).count()).isEqualTo(6);
        Run logs = local("tune", "logs", id);
        assertThat(logs.out().lines().count()).isEqualTo(points.size());
        assertThat(logs.out()).contains("step 1  epoch 1  loss ", "epoch 6  step " + job.path("stepsDone").asInt());
        Run followed = local("tune", "logs", id, "--follow", "--json");
        assertThat(followed.exit()).as("an ended job's curve, then the end").isZero();
        assertThat(followed.out().lines().map(l -> new Run(0, l, "").json()).filter(m -> m.has("kind")).count())
                .isEqualTo(points.size());
        assertThat(new Run(0, followed.out().lines().toList().getLast(), "").json().path("kind").asText())
                .isEqualTo("epoch");

        Path again = dir.resolve("again.png");
        Run charted = local("tune", "chart", "tune-capitals", "--out", again.toString());
        assertThat(charted.exit()).as(charted.err()).isZero();
        assertThat(charted.out()).contains(id, again.toString());
        assertThat(isPng(again)).isTrue();

        Run model = local("models", "show", "acme/capitals-tuned");
        assertThat(model.exit()).as(model.err()).isZero();
        assertThat(model.out()).contains("LINEAGE of acme/capitals-tuned:1", id, "tune-capitals", "acme/base:1",
                "trainingDataset", "acme/capitals", trainingSha, "hyperparameters learningRate", "0.02",
                "validationLoss");
        assertThat(local("models", "show", "acme/capitals-tuned:1").out()).contains("LINEAGE", trainingSha);
        assertThat(local("models", "show", "acme/capitals-tuned:1", "--json").json().at("/metadata/lineage/job")
                .asText()).isEqualTo(id);
        assertThat(local("models", "show", "acme/base").out()).contains("VERSION acme/base:1")
                .doesNotContain("LINEAGE");
    }

    @Test
    void aLongJobFollowedWithWaitIsCancelledAndTheWaitExitsOne() throws Exception {
        CompletableFuture<Run> waiting = CompletableFuture.supplyAsync(() -> local("tune", "create", "acme/base",
                "--data", "acme/capitals", "--output", "acme/long", "--name", "tune-long", "--epochs", "1000",
                "--lr", "0.02", "--ctx", "256", "--wait"));
        await().atMost(JOB_TIMEOUT).until(() -> {
            Run r = local("tune", "show", "tune-long", "--json");
            return r.exit() == 0 && r.json().path("stepsDone").asInt() > 0;
        });
        Run cancelled = local("tune", "cancel", "tune-long");
        assertThat(cancelled.exit()).as(cancelled.err()).isZero();
        assertThat(cancelled.out()).containsPattern("Training job tj-\\S+ is (stopping|stopped)");
        Run waited = waiting.get(JOB_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(waited.exit()).isEqualTo(1);
        assertThat(waited.err()).containsPattern("factory: training job tj-\\S+ stopped");
        JsonNode stopped = local("tune", "show", "tune-long", "--json").json();
        assertThat(stopped.path("status").asText()).isEqualTo("stopped");
        assertThat(stopped.path("stepsDone").asInt()).isLessThan(stopped.path("totalSteps").asInt());
        Run followed = local("tune", "logs", "tune-long", "--follow");
        assertThat(followed.exit()).isEqualTo(1);
        assertThat(followed.out()).contains("step 1  epoch 1");
        assertThat(followed.err()).contains("stopped");
        assertThat(local("models", "show", "acme/long").exit()).isEqualTo(1);
    }

    @Test
    void badArgumentsAreUsageErrorsAndUnknownJobsFailInOneLine() {
        assertThat(cli("tune").exit()).isEqualTo(2);
        assertThat(local("tune", "create", "acme/base", "--output", "acme/x").exit()).as("no --data").isEqualTo(2);
        assertThat(local("tune", "create", "acme/base", "--data", "acme/capitals").exit()).as("no --output")
                .isEqualTo(2);
        Run badNumber = local("tune", "create", "acme/base", "--data", "acme/capitals", "--output", "acme/x",
                "--epochs", "many");
        assertThat(badNumber.exit()).isEqualTo(2);
        assertThat(badNumber.err()).contains("--epochs", "many");
        Run chartAlone = local("tune", "create", "acme/base", "--data", "acme/capitals", "--output", "acme/x",
                "--chart", "x.png");
        assertThat(chartAlone.exit()).isEqualTo(2);
        assertThat(chartAlone.err()).contains("--chart needs --wait");
        assertThat(local("tune", "chart", "tj-none").exit()).as("no --out").isEqualTo(2);
        assertThat(local("tune", "show").exit()).isEqualTo(2);

        Run zero = local("tune", "create", "acme/base", "--data", "acme/capitals", "--output", "acme/x",
                "--epochs", "0");
        assertThat(zero.exit()).isEqualTo(1);
        assertThat(zero.err().strip()).startsWith("factory: ").contains("epochCount").doesNotContain("\n");
        Run noBase = local("tune", "create", "acme/absent", "--data", "acme/capitals", "--output", "acme/x");
        assertThat(noBase.exit()).isEqualTo(1);
        assertThat(noBase.err().strip()).startsWith("factory: ").contains("acme/absent").doesNotContain("\n");
        for (String[] args : List.of(new String[] {"show", "tj-none"}, new String[] {"logs", "tj-none"},
                new String[] {"cancel", "tj-none"}, new String[] {"logs", "tj-none", "--follow"})) {
            List<String> all = new ArrayList<>(List.of("tune"));
            all.addAll(List.of(args));
            Run missing = local(all.toArray(String[]::new));
            assertThat(missing.exit()).as(String.join(" ", all)).isEqualTo(1);
            assertThat(missing.err().strip()).as(String.join(" ", all))
                    .isEqualTo("factory: no training job tj-none (HTTP 404)");
        }
        assertThat(local("tune", "list", "--json").json().path("jobs").findValuesAsText("outputModel"))
                .doesNotContain("acme/x");
    }
}
