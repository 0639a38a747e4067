"""zynpu.serve: the board's model behind an OpenAI-compatible chat-completions endpoint, plus a live
dashboard of the NPU, the agent and the radio, in one process that owns the one NPU.

    zynpu serve --model tiny --device sim           # http://127.0.0.1:8000/ and /v1/chat/completions

Requests are parsed and checked on the event loop (`request`), turned into token ids by the model's
own chat template (`templates`), and run one at a time on the NPU worker thread (`worker`, `decode`);
tool calls go through the agent's grammar constraint (`tools`). See docs/serve.md.
"""
