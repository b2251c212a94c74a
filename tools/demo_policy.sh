#!/usr/bin/env bash
# Demo data for trust policies: real ownership structures, fictional
# companies (the exceptions are the five companies the US NDAA §889 list
# names, registered so that policies/ndaa-889.yaml resolves; every fact about
# them here is illustrative). Loaded into a
# running ledger with `prov`, then one delivery is judged under both
# reference policies (policies/uk-sensitive-site.yaml, policies/ndaa-889.yaml).
#
#   PROV=build/client/prov K=keys-dir W=work-dir bash tools/demo_policy.sh
# needs PROV_SERVER, PROV_VKEY, PROV_STATE_DIR in the environment and the
# authority keys $K/gov-a.key and $K/gov-b.key.
#
# The structures:
#   * a state-owned group (huaxin-state-group, CN, subject to CN-NIL-2017)
#     holds 40 % of a camera maker (lumen-vision, SG);
#   * lumen-vision and kestrel-holdings hold 30 % of each other (cross-holding);
#   * a western brand (nova-optics, GB) relabels a camera made by hikvision;
#   * a clean maker (acme-cam, GB) uses a SoC from polaris-micro (TW), a
#     subsidiary (100 %) of orion-group (CN, subject to CN-NIL-2017);
#   * an image-sensor maker (sentinel-sensors, DE) was 60 % owned by the
#     state group until 2023-07-01, then sold to alpine-capital (CH): units
#     made in 2022 are tainted, units made in 2024 are not;
#   * a clean maker's second model uses a SoC from vista-semi (HK), a
#     subsidiary (100 %) of hikvision (the NDAA list's "subsidiary" case);
#   * a memory maker (quartz-memory, KR) has no recorded owner (missing facts).
set -Eeuo pipefail
: "${PROV:?}" "${K:?}" "${W:?}"
# On a failure, name the command (its own output, if any, is just above).
trap 'echo "demo_policy.sh: line $LINENO: exit $? from: $BASH_COMMAND" >&2' ERR
AUTH=(--key "$K/gov-a.key" --key "$K/gov-b.key")
# q ARGS...: prov ARGS, quietly. Exit 4 (unavailable: the ledger could not
# be reached) is retried once, a second later: gRPC 1.51 (Debian 12) can fail
# a connection attempt spuriously (it reads connect()'s errno after other
# calls; grpc/grpc#35064), and every record here is deterministic, so a
# retry of one that did land is "already logged". A ledger that is really
# gone fails the retry too.
q() {
  local rc=0
  "$PROV" "$@" >/dev/null || rc=$?
  if ((rc == 4)); then
    echo "demo_policy.sh: prov $1 $2 exited 4 (unavailable); retrying once" >&2
    sleep 1
    "$PROV" "$@" >/dev/null
  else
    return "$rc"
  fi
}

org() {  # org ID NAME COUNTRY [extra flags...]
  local id=$1 name=$2 country=$3
  shift 3
  q authority org --id "$id" --name "$name" --country "$country" "$@" "${AUTH[@]}"
}
maker() {  # maker ORG: a manufacturer key for ORG
  [ -f "$K/$1.mfr.key" ] || "$PROV" key generate --out "$K/$1.mfr.key" >/dev/null
  q authority enroll --key-file "$K/$1.mfr.key" --org "$1" --role manufacturer,custodian "${AUTH[@]}"
}
own() {  # own OWNER OWNED BP FROM [UNTIL]
  q authority ownership --owner "$1" --owned "$2" --stake-bp "$3" --from "$4" ${5:+--until "$5"} "${AUTH[@]}"
}

echo "  laws, organisations, owners and stakes (authority, 2-of-2)"
q authority law --code CN-NIL-2017 --name "PRC National Intelligence Law (2017)" \
  --jurisdiction CN --source "https://www.npc.gov.cn/ (Order No. 69, 27 June 2017)" "${AUTH[@]}"
org huaxin-state-group "Huaxin State Holdings Group" CN --law CN-NIL-2017 --state-owned
org lumen-vision "Lumen Vision Pte Ltd" SG
org kestrel-holdings "Kestrel Holdings Pte Ltd" SG
org nova-optics "Nova Optics Ltd" GB
org hikvision "Hangzhou Hikvision Digital Technology Co., Ltd." CN --law CN-NIL-2017
# The other companies NDAA s.889 names, so that policies/ndaa-889.yaml
# resolves here (a policy naming an org the ledger does not know is refused).
org huawei "Huawei Technologies Co., Ltd." CN --law CN-NIL-2017
org zte "ZTE Corporation" CN --law CN-NIL-2017
org hytera "Hytera Communications Corporation Limited" CN --law CN-NIL-2017
org dahua "Zhejiang Dahua Technology Co., Ltd." CN --law CN-NIL-2017
org orion-group "Orion Group Co., Ltd." CN --law CN-NIL-2017
org polaris-micro "Polaris Microsystems Co" TW
org sentinel-sensors "Sentinel Sensors GmbH" DE
org alpine-capital "Alpine Capital AG" CH
org quartz-memory "Quartz Memory Co" KR
org vista-semi "Vista Semiconductor Ltd" HK
org nova-group "Nova Group plc" GB
org clearview-silicon "Clearview Silicon BV" NL
org acme-holdings "Acme Holdings plc" GB
org acme-cam "Acme Camera Ltd" GB  # (a new version if it exists)
org buyer-gov "A Government Department" GB
own huaxin-state-group lumen-vision 4000 2018-01-01
own lumen-vision kestrel-holdings 3000 2019-01-01
own kestrel-holdings lumen-vision 3000 2019-01-01
own orion-group polaris-micro 10000 2019-01-01
own huaxin-state-group sentinel-sensors 6000 2015-01-01 2023-07-01
own alpine-capital sentinel-sensors 6000 2023-07-01
own acme-holdings acme-cam 10000 2010-01-01
own acme-holdings clearview-silicon 10000 2012-01-01
own huaxin-state-group hikvision 4100 2001-01-01
own nova-group nova-optics 10000 2005-01-01
own hikvision vista-semi 10000 2016-01-01

echo "  makers' keys, components and models"
for o in lumen-vision hikvision polaris-micro sentinel-sensors quartz-memory clearview-silicon acme-cam vista-semi; do
  maker "$o"
done
comp() { q manufacturer component --org "$1" --part "$2" --kind "$3" --country "$4" --key "$K/$1.mfr.key"; }
comp polaris-micro PX-3 soc TW
comp sentinel-sensors IMX-9 image-sensor DE
comp quartz-memory QM-4 memory KR
comp clearview-silicon CV-7 soc NL
comp lumen-vision LV-SOC soc SG
comp hikvision HK-ISP soc CN
comp vista-semi VS-1 soc CN
model() {  # model ORG ID BRAND COMPONENT...
  local org=$1 id=$2 brand=$3
  shift 3
  local c=()
  for x in "$@"; do c+=(--component "$x"); done
  q manufacturer model --org "$org" --model-id "$id" --brand "$brand" "${c[@]}" --key "$K/$org.mfr.key"
}
model acme-cam ACME-DOME acme-cam "polaris-micro/PX-3,function=image signal processor" "sentinel-sensors/IMX-9,function=image sensor"
model acme-cam ACME-CLEAN acme-cam "clearview-silicon/CV-7,function=SoC" "sentinel-sensors/IMX-9,function=image sensor"
model acme-cam ACME-BULLET acme-cam "vista-semi/VS-1,function=SoC" "sentinel-sensors/IMX-9,function=image sensor"
model acme-cam ACME-MEM acme-cam "clearview-silicon/CV-7,function=SoC" "quartz-memory/QM-4,function=memory"
model lumen-vision LV-200 lumen-vision "lumen-vision/LV-SOC,function=SoC"
model hikvision NOVA-1 nova-optics "hikvision/HK-ISP,function=image signal processor"

echo "  devices (made in 2022 and 2024), shipped to buyer-gov"
echo "manufacturer,serial,model" >"$W/policy-manifest.csv"
device() {  # device ORG SERIAL MODEL MADE
  "$PROV" key generate --out "$W/dev-$2.key" >/dev/null
  q manufacturer device --org "$1" --serial "$2" --model-id "$3" \
    --device-key "$("$PROV" key show "$W/dev-$2.key")" --manufactured "$4" --key "$K/$1.mfr.key"
  q transfer --manufacturer "$1" --serial "$2" --from "$1" --to buyer-gov --reference PO-DEMO \
    --key "$K/$1.mfr.key"
  echo "$1,$2,$3" >>"$W/policy-manifest.csv"
}
device acme-cam DOME-2024 ACME-DOME 2024-03-01
device acme-cam CLEAN-2022 ACME-CLEAN 2022-05-01
device acme-cam CLEAN-2024 ACME-CLEAN 2024-05-01
device acme-cam MEM-2024 ACME-MEM 2024-06-01
device acme-cam BULLET-2024 ACME-BULLET 2024-07-01
device lumen-vision LV-2024 LV-200 2024-02-01
device hikvision NOVA-2024 NOVA-1 2024-04-01
