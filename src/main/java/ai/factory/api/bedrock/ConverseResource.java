package ai.factory.api.bedrock;

import static java.util.Objects.requireNonNull;

import ai.factory.api.codec.bedrock.BedrockErrors;
import ai.factory.api.Authentication;
import ai.factory.api.AwsEventStream;
import ai.factory.api.Contract;
import ai.factory.api.GuardedRoutes;
import ai.factory.api.RequestAudit;
import ai.factory.api.Routes;
import ai.factory.api.codec.WireJson;
import ai.factory.api.codec.bedrock.ConverseCodec;
import ai.factory.api.codec.bedrock.ConverseRequest;
import ai.factory.api.codec.bedrock.ConverseResponse;
import ai.factory.inference.CallListener;
import ai.factory.inference.InferencePipeline;
import ai.factory.inference.InferenceRun;
import io.javalin.http.Context;
import java.time.Clock;

/**
 * Amazon Bedrock's {@code POST /model/{modelId}/converse} and {@code /converse-stream}. The model id is the
 * factory's model name ({@code ns/model} or {@code ns/model:version}), URL-encoded in the path as the AWS SDKs
 * send it, or an imported model's ARN. The conversation goes through the model's own chat template, exactly as
 * OpenAI chat does.
 */
public final class ConverseResource implements Routes {
    private final InferencePipeline pipeline;
    private final Clock clock;

    public ConverseResource(InferencePipeline pipeline, Clock clock) {
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addTo(GuardedRoutes routes) {
        routes.postCall("/model/{modelId}/converse", Contract.of("Bedrock Converse", ConverseRequest.class,
                ConverseResponse.class), this::converse);
        routes.postCall("/model/{modelId}/converse-stream", Contract.of("Bedrock ConverseStream (an AWS "
                + "event stream)", ConverseRequest.class, null), this::converseStream);
    }

    private void converse(Context ctx) {
        long start = clock.millis();
        InferenceRun run = start(ctx);
        ctx.json(ConverseCodec.response(run.collect(), clock.millis() - start));
    }

    private void converseStream(Context ctx) {
        long start = clock.millis();
        InferenceRun run = start(ctx);
        AwsEventStream events = new AwsEventStream(ctx, e -> BedrockErrors.streamType(e).eventName());
        events.guard(() -> {
            ConverseCodec.Stream stream = new ConverseCodec.Stream(events::event, () -> clock.millis() - start);
            stream.start();
            run.forEach(stream, events::keepAlive);
        });
    }

    private InferenceRun start(Context ctx) {
        CallListener listener = RequestAudit.listener(ctx);
        String model = BedrockModels.modelName(ctx.pathParam("modelId"));
        listener.model(model);
        ConverseRequest request = WireJson.read(ctx.bodyAsBytes(), ConverseRequest.class);
        return ConverseCodec.FIELDS.apply(() -> pipeline.start(Authentication.principal(ctx),
                ConverseCodec.decode(model, request), listener));
    }
}
