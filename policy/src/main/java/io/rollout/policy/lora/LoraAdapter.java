package io.rollout.policy.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.Linear;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.model.Scalars;
import io.rollout.policy.safetensors.SafetensorsFile;
import io.rollout.policy.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA adapters for the linear layers of a {@link DecoderModel}: for a frozen layer with
 * weight W (out x in), {@code y = x W^T + s * x A^T B^T} with A (r x in), B (out x r) and
 * {@code s = alpha / r}. A and B have the model's compute dtype, because a dtype conversion
 * inside the forward pass would cut the gradient (a bfloat16 trainer keeps float32 master
 * copies and writes them in before each step). Saved in PEFT's layout ({@code adapter_config.json} +
 * {@code adapter_model.safetensors}, tensors named
 * {@code base_model.model.<module>.lora_A.weight}) so other tools load it, and to bytes
 * for publishing over Kafka.
 */
public final class LoraAdapter implements LinearAdapter, AutoCloseable {

    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final String SPEC_METADATA = "rollout.lora_spec";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final LoraSpec spec;
    private final NDManager manager;
    /** Module path -> {A, B}, in the model's layer order. */
    private final Map<String, NDArray[]> weights;
    private final float scale;

    private LoraAdapter(LoraSpec spec, NDManager manager, Map<String, NDArray[]> weights) {
        this.spec = spec;
        this.manager = manager;
        this.weights = Collections.unmodifiableMap(weights);
        this.scale = (float) spec.scale();
    }

    /**
     * A fresh adapter as PEFT initialises one: A uniform in +-1/sqrt(in) (Kaiming-uniform with
     * a = sqrt(5)), B zero, so the adapted model starts equal to the base. Seeded.
     */
    public static LoraAdapter initialize(DecoderModel model, LoraSpec spec, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        NDManager manager = NDManager.newBaseManager(model.device());
        Map<String, NDArray[]> weights = new LinkedHashMap<>();
        for (Linear layer : model.linears().values()) {
            if (!spec.targets(layer.key())) {
                continue;
            }
            int in = (int) layer.inFeatures();
            double bound = 1.0 / Math.sqrt(in);
            float[] a = new float[spec.rank() * in];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            DataType type = parameterType(model);
            weights.put(layer.key(), new NDArray[] {
                manager.create(a, new Shape(spec.rank(), in)).toType(type, false),
                manager.zeros(new Shape(layer.outFeatures(), spec.rank()), type)
            });
        }
        return new LoraAdapter(spec, manager, weights);
    }

    private static DataType parameterType(DecoderModel model) {
        return model.dtype();
    }

    /** Loads a PEFT adapter directory and checks every tensor against {@code model}. */
    public static LoraAdapter load(DecoderModel model, Path dir) {
        Path configFile = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new ModelFormatException(configFile, "no adapter_config.json: not a PEFT adapter directory");
        }
        LoraSpec spec = PeftConfig.read(configFile);
        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weightsFile)) {
            throw new ModelFormatException(weightsFile, "missing adapter weights");
        }
        return fromFile(model, spec, SafetensorsFile.open(weightsFile));
    }

    /** Reads bytes written by {@link #toBytes()} (the LoRA spec travels in their metadata). */
    public static LoraAdapter fromBytes(DecoderModel model, byte[] bytes) {
        Path name = Path.of("<adapter bytes>");
        SafetensorsFile file = SafetensorsFile.of(bytes, name);
        String specJson = file.metadata().get(SPEC_METADATA);
        if (specJson == null) {
            throw new ModelFormatException(name, "no " + SPEC_METADATA + " metadata: not written by LoraAdapter.toBytes");
        }
        try {
            return fromFile(model, PeftConfig.parse(name, JSON.readTree(specJson)), file);
        } catch (IOException e) {
            throw new ModelFormatException(name, "unreadable " + SPEC_METADATA + ": " + e.getMessage(), e);
        }
    }

    private static LoraAdapter fromFile(DecoderModel model, LoraSpec spec, SafetensorsFile file) {
        Map<String, Linear> linears = model.linears();
        for (String name : file.names()) {
            String module = moduleOf(name);
            if (module == null || !linears.containsKey(module)) {
                throw new ModelFormatException(file.source(), "tensor " + name
                        + " does not belong to any linear layer of this base model (an adapter for another base?)");
            }
        }
        NDManager manager = NDManager.newBaseManager(model.device());
        try {
            Map<String, NDArray[]> weights = new LinkedHashMap<>();
            for (Linear layer : linears.values()) {
                if (!spec.targets(layer.key())) {
                    continue;
                }
                DataType type = parameterType(model);
                NDArray a = loadFactor(file, manager, layer, "lora_A", new Shape(spec.rank(), layer.inFeatures()), type);
                NDArray b = loadFactor(file, manager, layer, "lora_B", new Shape(layer.outFeatures(), spec.rank()), type);
                weights.put(layer.key(), new NDArray[] {a, b});
            }
            return new LoraAdapter(spec, manager, weights);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static NDArray loadFactor(SafetensorsFile file, NDManager manager, Linear layer, String factor, Shape shape,
            DataType type) {
        String name = PREFIX + layer.key() + "." + factor + ".weight";
        if (file.entry(name) == null && file.entry(PREFIX + layer.key() + "." + factor + ".default.weight") != null) {
            name = PREFIX + layer.key() + "." + factor + ".default.weight";
        }
        var entry = file.entry(name);
        if (entry != null && !entry.shape().equals(shape)) {
            throw new ModelFormatException(file.source(), "tensor " + name + " has shape " + entry.shape()
                    + " but layer " + layer.key() + " (" + layer.outFeatures() + " x " + layer.inFeatures()
                    + ") with rank " + shape.get(factor.equals("lora_A") ? 0 : 1) + " needs " + shape
                    + " (an adapter for another base?)");
        }
        return file.load(manager, name, shape, type);
    }

    /** The module path of a PEFT tensor name, or null when it is not a LoRA factor. */
    private static String moduleOf(String tensor) {
        if (!tensor.startsWith(PREFIX)) {
            return null;
        }
        String rest = tensor.substring(PREFIX.length());
        for (String suffix : List.of(".lora_A.weight", ".lora_B.weight", ".lora_A.default.weight", ".lora_B.default.weight")) {
            if (rest.endsWith(suffix)) {
                return rest.substring(0, rest.length() - suffix.length());
            }
        }
        return null;
    }

    public LoraSpec spec() {
        return spec;
    }

    /** Module path -> {A, B}, in layer order. */
    public Map<String, NDArray[]> weights() {
        return weights;
    }

    /** A and B of every adapted layer, in layer order: the parameters a trainer updates. */
    public List<NDArray> parameters() {
        List<NDArray> params = new ArrayList<>();
        weights.values().forEach(ab -> Collections.addAll(params, ab));
        return params;
    }

    /** Turns gradient tracking of A and B on (training) or off. */
    public void setTrainable(boolean trainable) {
        parameters().forEach(p -> p.setRequiresGradient(trainable));
    }

    @Override
    public NDArray delta(Linear layer, NDArray x) {
        NDArray[] ab = weights.get(layer.key());
        if (ab == null) {
            return null;
        }
        NDArray down = x.getNDArrayInternal().linear(x, ab[0], null).singletonOrThrow();
        NDArray up = down.getNDArrayInternal().linear(down, ab[1], null).singletonOrThrow();
        return up.mul(Scalars.of(up, scale));
    }

    /** A deep copy on the same device (for a trainer's snapshot, or to publish while training). */
    public LoraAdapter copy() {
        NDManager m = NDManager.newBaseManager(manager.getDevice());
        Map<String, NDArray[]> copied = new LinkedHashMap<>();
        weights.forEach((k, ab) -> {
            NDArray a = ab[0].duplicate();
            NDArray b = ab[1].duplicate();
            a.attach(m);
            b.attach(m);
            copied.put(k, new NDArray[] {a, b});
        });
        return new LoraAdapter(spec, m, copied);
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} into {@code dir}. */
    public void save(Path dir) {
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors(), Map.of("format", "pt"));
        try {
            SafetensorsWriter.writeAtomically(dir.resolve(CONFIG_FILE),
                    JSON.writeValueAsString(PeftConfig.toJson(spec)).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + dir.resolve(CONFIG_FILE), e);
        }
    }

    /** The adapter as safetensors bytes with its spec in the metadata; same adapter, same bytes. */
    public byte[] toBytes() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        try {
            metadata.put(SPEC_METADATA, new ObjectMapper().writeValueAsString(PeftConfig.toJson(spec)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return SafetensorsWriter.toBytes(tensors(), metadata);
    }

    private Map<String, NDArray> tensors() {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        weights.forEach((k, ab) -> {
            tensors.put(PREFIX + k + ".lora_A.weight", ab[0]);
            tensors.put(PREFIX + k + ".lora_B.weight", ab[1]);
        });
        return tensors;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** PEFT's adapter_config.json, read and written. */
    static final class PeftConfig {
        private PeftConfig() {}

        static LoraSpec read(Path file) {
            try {
                return parse(file, new ObjectMapper().readTree(Files.readString(file)));
            } catch (IOException e) {
                throw new ModelFormatException(file, "cannot read JSON: " + e.getMessage(), e);
            }
        }

        static LoraSpec parse(Path file, JsonNode c) {
            if (c == null || !c.isObject()) {
                throw new ModelFormatException(file, "not a JSON object");
            }
            String type = c.path("peft_type").asText("LORA");
            if (!type.equals("LORA")) {
                throw new ModelFormatException(file, "peft_type " + type + " is not supported (only LORA)");
            }
            requireUnset(file, c, "use_dora", "DoRA");
            requireUnset(file, c, "fan_in_fan_out", "fan_in_fan_out weights");
            requireEmpty(file, c, "rank_pattern");
            requireEmpty(file, c, "alpha_pattern");
            requireEmpty(file, c, "layers_to_transform");
            requireEmpty(file, c, "modules_to_save");
            String bias = c.path("bias").asText("none");
            if (!bias.equals("none")) {
                throw new ModelFormatException(file, "bias \"" + bias + "\" is not supported (only \"none\")");
            }
            JsonNode targets = c.path("target_modules");
            List<String> modules = new ArrayList<>();
            if (targets.isTextual() && targets.asText().equals("all-linear")) {
                modules.addAll(LoraSpec.ALL_TARGETS);
            } else if (targets.isArray()) {
                targets.forEach(t -> modules.add(t.asText()));
            } else {
                throw new ModelFormatException(file, "target_modules " + targets
                        + " is not supported (a list of module names, or \"all-linear\")");
            }
            try {
                return new LoraSpec(c.path("r").asInt(8), c.path("lora_alpha").asDouble(8), modules,
                        c.path("lora_dropout").asDouble(0), c.path("use_rslora").asBoolean(false),
                        c.path("base_model_name_or_path").asText(""));
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(file, e.getMessage(), e);
            }
        }

        private static void requireUnset(Path file, JsonNode c, String key, String what) {
            if (c.path(key).asBoolean(false)) {
                throw new ModelFormatException(file, key + " is set: " + what + " is not supported");
            }
        }

        private static void requireEmpty(Path file, JsonNode c, String key) {
            JsonNode n = c.path(key);
            if (!n.isMissingNode() && !n.isNull() && !(n.isContainerNode() && n.isEmpty())) {
                throw new ModelFormatException(file, key + " " + n + " is not supported");
            }
        }

        static ObjectNode toJson(LoraSpec spec) {
            ObjectNode c = new ObjectMapper().createObjectNode();
            c.putObject("alpha_pattern");
            c.putNull("auto_mapping");
            c.put("base_model_name_or_path", spec.baseModel());
            c.put("bias", "none");
            c.put("fan_in_fan_out", false);
            c.put("inference_mode", true);
            c.put("init_lora_weights", true);
            c.putNull("layers_pattern");
            c.putNull("layers_to_transform");
            c.put("lora_alpha", spec.alpha());
            c.put("lora_dropout", spec.dropout());
            c.putNull("modules_to_save");
            c.put("peft_type", "LORA");
            c.put("r", spec.rank());
            c.putObject("rank_pattern");
            c.putNull("revision");
            var targets = c.putArray("target_modules");
            spec.targetModules().forEach(targets::add);
            c.put("task_type", "CAUSAL_LM");
            c.put("use_dora", false);
            c.put("use_rslora", spec.useRslora());
            return c;
        }
    }
}
