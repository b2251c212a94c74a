#include "client/model_graph.h"

#include <deque>
#include <map>

namespace client {
namespace {

namespace pb = provenance::v1;

std::string Idx(uint64_t i) { return "#" + std::to_string(i); }

class Builder {
 public:
  Builder(const verifier::VerifiedEvidence& ev, const verifier::OwnershipGraph& owners,
          const std::set<uint64_t>& hot)
      : ev_(ev), owners_(owners), hot_(hot) {}

  ReportGraph Build(const std::string& mfr, const std::string& model_id) {
    g_.title = mfr + "/" + model_id;
    pb::ModelState ms;
    auto found = verifier::GetMessage(ev_.state, verifier::state_key::Model(mfr, model_id), &ms);
    if (!found.ok() || !*found) return g_;
    const pb::DeviceModel& m = ms.model();
    const std::string model = "model:" + mfr + "/" + model_id;
    g_.nodes.push_back({model, "model " + model_id + (m.name().empty() ? "" : "\n" + m.name()) +
                                   "\n" + Idx(ms.index()),
                        "model", false});
    Edge(Org(mfr), model, "makes " + Idx(ms.index()), IsHot(OrgIndex(mfr)));
    if (!m.brand_org().empty() && m.brand_org() != mfr) {
      Edge(Org(m.brand_org()), model, "brand on the box", IsHot(OrgIndex(m.brand_org())));
    }
    for (const pb::BomLine& line : m.bom()) {
      const auto& ref = line.component();
      pb::ComponentState cs;
      auto have = verifier::GetMessage(
          ev_.state, verifier::state_key::Component(ref.maker_org(), ref.part_number()), &cs);
      const bool known = have.ok() && *have;
      const std::string comp = "component:" + ref.maker_org() + "/" + ref.part_number();
      const bool hot = known && IsHot(cs.index());
      g_.nodes.push_back({comp,
                          (line.function().empty() ? "" : line.function() + "\n") +
                              ref.part_number() + (known ? " " + Idx(cs.index()) : ""),
                          "component", hot});
      Edge(comp, model, "in the bill of materials", hot);
      Edge(Org(ref.maker_org()), comp, "makes", hot || IsHot(OrgIndex(ref.maker_org())));
    }
    AddOwners();
    // A node at either end of a highlighted edge is on an offending path.
    std::set<std::string> lit;
    for (const auto& e : g_.edges) {
      if (e.highlight) lit.insert({e.from, e.to});
    }
    for (auto& n : g_.nodes) n.highlight = n.highlight || lit.count(n.id);
    return g_;
  }

 private:
  bool IsHot(uint64_t i) const { return i != 0 && hot_.count(i) > 0; }

  uint64_t OrgIndex(const std::string& id) const {
    pb::OrgState os;
    auto found = verifier::GetMessage(ev_.state, verifier::state_key::Org(id), &os);
    return found.ok() && *found ? os.latest_index() : 0;
  }

  // The node id of an org, added on first use.
  std::string Org(const std::string& id) {
    const std::string node = "org:" + id;
    if (!orgs_.insert(id).second) return node;
    pb::OrgState os;
    auto found = verifier::GetMessage(ev_.state, verifier::state_key::Org(id), &os);
    std::string label = id + "\n(not in the ledger)";
    bool hot = false;
    if (found.ok() && *found) {
      const pb::Organization& o = os.current();
      std::string facts = o.country();
      if (o.state_owned()) facts += " · state-owned";
      for (const auto& law : o.laws()) facts += " · " + law;
      label = o.legal_name() + "\n" + facts + "\n" + id + " " + Idx(os.latest_index());
      hot = IsHot(os.latest_index());
    }
    g_.nodes.push_back({node, label, "org", hot});
    todo_.push_back(id);
    return node;
  }

  void Edge(const std::string& from, const std::string& to, std::string label, bool hot) {
    g_.edges.push_back({from, to, std::move(label), hot});
  }

  // Every recorded stake above the orgs in the graph, at any time.
  void AddOwners() {
    constexpr size_t kMaxOrgs = 200;
    while (!todo_.empty() && orgs_.size() < kMaxOrgs) {
      const std::string owned = todo_.front();
      todo_.pop_front();
      for (const auto& e : owners_.DirectOwners(owned)) {
        std::string window = e.valid_from ? verifier::UtcDate(e.valid_from) : "";
        window += e.valid_until ? " – " + verifier::UtcDate(e.valid_until) : "";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%g %%", e.stake_bp / 100.0);
        Edge(Org(e.owner), "org:" + owned,
             std::string(pct) + (e.control ? " + control" : "") + "\n" + window + " " +
                 Idx(e.index),
             IsHot(e.index));
      }
    }
  }

  const verifier::VerifiedEvidence& ev_;
  const verifier::OwnershipGraph& owners_;
  const std::set<uint64_t>& hot_;
  ReportGraph g_;
  std::set<std::string> orgs_;
  std::deque<std::string> todo_;
};

}  // namespace

ReportGraph ModelGraph(const verifier::VerifiedEvidence& ev, const verifier::OwnershipGraph& owners,
                       const std::string& manufacturer, const std::string& model_id,
                       const std::set<uint64_t>& hot) {
  return Builder(ev, owners, hot).Build(manufacturer, model_id);
}

}  // namespace client
