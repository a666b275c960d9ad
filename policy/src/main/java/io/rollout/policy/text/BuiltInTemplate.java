package io.rollout.policy.text;

import java.util.List;

/** The hard-coded formats used when a model directory has no chat template of its own. */
enum BuiltInTemplate implements ChatTemplate {

    CHATML {
        @Override
        public String render(List<Message> messages, String defaultSystem) {
            StringBuilder sb = new StringBuilder();
            if ((messages.isEmpty() || !messages.get(0).role().equals("system")) && defaultSystem != null) {
                sb.append("<|im_start|>system\n").append(defaultSystem).append("<|im_end|>\n");
            }
            for (Message m : messages) {
                sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            }
            return sb.append("<|im_start|>assistant\n").toString();
        }

        @Override
        public List<String> stopStrings() {
            return List.of("<|im_end|>");
        }
    },

    LLAMA3 {
        @Override
        public String render(List<Message> messages, String defaultSystem) {
            StringBuilder sb = new StringBuilder("<|begin_of_text|>");
            if ((messages.isEmpty() || !messages.get(0).role().equals("system")) && defaultSystem != null) {
                header(sb, "system").append(defaultSystem).append("<|eot_id|>");
            }
            for (Message m : messages) {
                header(sb, m.role()).append(m.content().strip()).append("<|eot_id|>");
            }
            return header(sb, "assistant").toString();
        }

        private StringBuilder header(StringBuilder sb, String role) {
            return sb.append("<|start_header_id|>").append(role).append("<|end_header_id|>\n\n");
        }

        @Override
        public List<String> stopStrings() {
            return List.of("<|eot_id|>");
        }
    },

    PLAIN {
        @Override
        public String render(List<Message> messages, String defaultSystem) {
            StringBuilder sb = new StringBuilder();
            for (Message m : messages) {
                if (sb.length() > 0) {
                    sb.append('\n');
                }
                sb.append(m.content());
            }
            return sb.toString();
        }

        @Override
        public List<String> stopStrings() {
            return List.of();
        }
    }
}
