#!/usr/bin/env bash
# Certificates for the podshm webhook without cert-manager: a private CA and a serving
# certificate for the webhook's Service, made with openssl.
#
#   self-signed-cert.sh [--out DIR] [--namespace NS] [--service NAME] [--days N] [--apply]
#
# Writes DIR/ca.crt, DIR/tls.crt, DIR/tls.key (DIR/ca.key stays there too: keep it safe
# or delete it). With --apply it also creates the secret podshm-webhook-tls and puts the
# CA into the MutatingWebhookConfiguration "podshm" (apply webhook.yaml first). Run it
# again before the certificate expires (default 365 days): the webhook reloads the
# renewed secret without a restart.
set -euo pipefail

out=./podshm-webhook-certs
namespace=podshm-system
service=podshm-webhook
days=365
apply=false
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --service) service=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --apply) apply=true; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "self-signed-cert.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v openssl >/dev/null || { echo "self-signed-cert.sh: openssl is needed" >&2; exit 1; }
mkdir -p "$out"
umask 077
host="$service.$namespace.svc"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

# The CA: signs the serving certificate; the API server trusts it through caBundle.
openssl req -x509 "${ec[@]}" -keyout "$out/ca.key" -out "$out/ca.crt" -days "$days" \
  -subj "/CN=$service-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# The serving certificate: the API server checks the Service's DNS name against the SAN.
openssl req "${ec[@]}" -keyout "$out/tls.key" -out "$out/tls.csr" -subj "/CN=$host" 2>/dev/null
cat > "$out/tls.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$host,DNS:$host.cluster.local
EXT
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -extfile "$out/tls.ext" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext"
chmod 0644 "$out/ca.crt" "$out/tls.crt"
echo "wrote $out/ca.crt, $out/tls.crt, $out/tls.key for $host (valid $days days)"

ca_bundle=$(base64 < "$out/ca.crt" | tr -d '\n')
if [ "$apply" = true ]; then
  kubectl -n "$namespace" create secret tls podshm-webhook-tls --cert "$out/tls.crt" --key "$out/tls.key" \
    --dry-run=client -o yaml | kubectl apply -f -
  kubectl patch mutatingwebhookconfiguration podshm --type=json \
    -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca_bundle\"}]"
else
  echo "next: kubectl -n $namespace create secret tls podshm-webhook-tls --cert $out/tls.crt --key $out/tls.key"
  echo "      and set webhooks[0].clientConfig.caBundle of MutatingWebhookConfiguration podshm to:"
  echo "$ca_bundle"
fi
