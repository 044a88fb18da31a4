#include "model/weights.h"

#include <set>
#include <string>
#include <vector>

#include "quant/dequantize.h"

namespace moe {
namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class Binder {
 public:
  explicit Binder(const GgufModel& file) : file_(file) {}

  // Binds `name` with the expected shape (ggml order). `f32_only` for norms and routers.
  Status bind(const std::string& name, const std::vector<int64_t>& shape, TensorView* out,
              bool f32_only = false, bool optional = false) {
    const TensorInfo* t = file_.find_tensor(name);
    if (t == nullptr) {
      if (optional) return Status::ok();
      return Status::error("missing tensor " + name + " (expected shape " + shape_str(shape) + ")");
    }
    used_.insert(name);
    std::vector<int64_t> found(t->ne.begin(), t->ne.begin() + t->n_dims);
    while (found.size() < shape.size()) found.push_back(1);
    std::vector<int64_t> want = shape;
    while (want.size() < found.size()) want.push_back(1);
    if (found != want) {
      return Status::error("tensor " + name + ": expected shape " + shape_str(shape) + ", found " +
                           t->shape_string());
    }
    if (f32_only && t->type != GgmlType::F32) {
      return Status::error("tensor " + name + ": expected type f32, found " +
                           std::string(type_name(t->type)));
    }
    if (!can_dequantize(t->type)) {
      return Status::error("tensor " + name + ": type " + std::string(type_name(t->type)) +
                           " is not supported yet");
    }
    TensorView v;
    v.type = t->type;
    v.data = t->data;
    v.ne[0] = t->ne[0];
    v.ne[1] = t->ne[1];
    v.ne[2] = t->ne[2] * t->ne[3];
    v.row_stride = t->row_bytes();
    v.matrix_stride = v.row_stride * static_cast<size_t>(v.ne[1]);
    *out = v;
    return Status::ok();
  }

  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const TensorInfo& t : file_.tensors()) {
      if (!used_.count(t.name)) out.push_back(t.name);
    }
    return out;
  }

 private:
  const GgufModel& file_;
  std::set<std::string> used_;
};

std::string blk(int64_t layer, const char* name) {
  return "blk." + std::to_string(layer) + "." + name;
}

// Legacy `attn_kv_b` {kv_lora, heads x (nope + v)} -> W_UK[h]^T as f32 [nope] -> [kv_lora]
// per head (dequantized and transposed once), and W_UV[h] as a strided view of the file.
Status convert_legacy_kv_b(const TensorView& kv_b, const ModelArgs& a, AttentionWeights* attn,
                           ModelWeights* w) {
  const int64_t nope = a.qk_nope_head_dim, v = a.v_head_dim, lora = a.kv_lora_rank;
  auto wk = std::make_unique<float[]>(static_cast<size_t>(a.n_heads * lora * nope));
  std::vector<float> row(static_cast<size_t>(lora));
  for (int64_t h = 0; h < a.n_heads; ++h) {
    for (int64_t n = 0; n < nope; ++n) {
      dequantize_row(kv_b.type, kv_b.row(h * (nope + v) + n), row.data(), lora);
      for (int64_t c = 0; c < lora; ++c) wk[static_cast<size_t>((h * lora + c) * nope + n)] = row[c];
    }
  }
  TensorView k;
  k.type = GgmlType::F32;
  k.data = reinterpret_cast<const uint8_t*>(wk.get());
  k.ne[0] = nope;
  k.ne[1] = lora;
  k.ne[2] = a.n_heads;
  k.row_stride = static_cast<size_t>(nope) * sizeof(float);
  k.matrix_stride = k.row_stride * static_cast<size_t>(lora);
  attn->wk_b = k;
  w->converted.push_back(std::move(wk));

  TensorView vb = kv_b;
  vb.data = kv_b.row(nope);
  vb.ne[0] = lora;
  vb.ne[1] = v;
  vb.ne[2] = a.n_heads;
  vb.matrix_stride = kv_b.row_stride * static_cast<size_t>(nope + v);
  attn->wv_b = vb;
  return Status::ok();
}

Status bind_attention(Binder& b, const ModelArgs& a, int64_t l, AttentionWeights* attn,
                      ModelWeights* w) {
  const int64_t q_width = a.n_heads * a.qk_head_dim();
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_norm.weight"), {a.dim}, &attn->attn_norm, true));
  if (a.q_lora_rank > 0) {
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_q_a.weight"), {a.dim, a.q_lora_rank}, &attn->wq_a));
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_q_a_norm.weight"), {a.q_lora_rank}, &attn->q_norm, true));
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_q_b.weight"), {a.q_lora_rank, q_width}, &attn->wq_b));
  } else {
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_q.weight"), {a.dim, q_width}, &attn->wq));
  }
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_kv_a_mqa.weight"), {a.dim, a.kv_cache_width()}, &attn->wkv_a));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_kv_a_norm.weight"), {a.kv_lora_rank}, &attn->kv_norm, true));
  if (a.tensor_layout == TensorLayout::kSplit) {
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_k_b.weight"), {a.qk_nope_head_dim, a.kv_lora_rank, a.n_heads},
                               &attn->wk_b));
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_v_b.weight"), {a.kv_lora_rank, a.v_head_dim, a.n_heads},
                               &attn->wv_b));
  } else {
    TensorView kv_b;
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_kv_b.weight"),
                               {a.kv_lora_rank, a.n_heads * (a.qk_nope_head_dim + a.v_head_dim)}, &kv_b));
    MOE_RETURN_IF_ERROR(convert_legacy_kv_b(kv_b, a, attn, w));
  }
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "attn_output.weight"), {a.n_heads * a.v_head_dim, a.dim}, &attn->wo));
  return Status::ok();
}

Status bind_ffn(Binder& b, int64_t l, const char* suffix, int64_t dim, int64_t inter, FfnWeights* f) {
  const std::string s = suffix;
  MOE_RETURN_IF_ERROR(b.bind(blk(l, ("ffn_gate" + s + ".weight").c_str()), {dim, inter}, &f->w1));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, ("ffn_up" + s + ".weight").c_str()), {dim, inter}, &f->w3));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, ("ffn_down" + s + ".weight").c_str()), {inter, dim}, &f->w2));
  return Status::ok();
}

Status bind_moe(Binder& b, const ModelArgs& a, int64_t l, MoeWeights* m) {
  const int64_t e = a.n_routed_experts;
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "ffn_gate_inp.weight"), {a.dim, e}, &m->gate, true));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "exp_probs_b.bias"), {e}, &m->gate_bias, true,
                             /*optional=*/a.score_func == ScoreFunc::kSoftmax));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "ffn_gate_exps.weight"), {a.dim, a.moe_inter_dim, e}, &m->w1));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "ffn_up_exps.weight"), {a.dim, a.moe_inter_dim, e}, &m->w3));
  MOE_RETURN_IF_ERROR(b.bind(blk(l, "ffn_down_exps.weight"), {a.moe_inter_dim, a.dim, e}, &m->w2));
  if (a.n_shared_experts > 0) {
    MOE_RETURN_IF_ERROR(bind_ffn(b, l, "_shexp", a.dim, a.moe_inter_dim * a.n_shared_experts, &m->shared));
  }
  return Status::ok();
}

}  // namespace

Result<ModelWeights> bind_weights(const GgufModel& file, const ModelArgs& a) {
  Binder b(file);
  ModelWeights w;
  MOE_RETURN_IF_ERROR(b.bind("token_embd.weight", {a.dim, a.vocab_size}, &w.token_embd));
  MOE_RETURN_IF_ERROR(b.bind("output_norm.weight", {a.dim}, &w.output_norm, true));
  MOE_RETURN_IF_ERROR(b.bind("output.weight", {a.dim, a.vocab_size}, &w.output, false, /*optional=*/true));
  if (w.output.empty()) w.output = w.token_embd;  // tied embeddings
  w.layers.resize(static_cast<size_t>(a.n_layers));
  for (int64_t l = 0; l < a.n_layers; ++l) {
    LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    MOE_RETURN_IF_ERROR(bind_attention(b, a, l, &lw.attn, &w));
    MOE_RETURN_IF_ERROR(b.bind(blk(l, "ffn_norm.weight"), {a.dim}, &lw.ffn_norm, true));
    if (a.is_moe_layer(l)) {
      MOE_RETURN_IF_ERROR(bind_moe(b, a, l, &lw.moe));
    } else {
      MOE_RETURN_IF_ERROR(bind_ffn(b, l, "", a.dim, a.inter_dim, &lw.ffn));
    }
  }
  w.ignored_tensors = b.unused();
  return w;
}

}  // namespace moe
