#!/usr/bin/env bash
# One member's Kubo and IPFS Cluster peer, set up once (docs/production.md, step 5).
# Not run on the development machine: no registry there ships Kubo or IPFS Cluster.
#
#   SWARM_KEY_FILE   the consortium's swarm.key (one file for all members, made once with
#                    printf '/key/swarm/psk/1.0.0/\n/base16/\n%s\n' "$(openssl rand -hex 32)")
#   CLUSTER_SECRET   the consortium's cluster secret (openssl rand -hex 32), the same for all
#   MEMBER_PEERS     the other members' Kubo multiaddrs, /ip4/IP/tcp/4001/p2p/PEER_ID, spaced
#   TRUSTED_PEERS    every member's cluster peer id (this one included), comma-separated
#   CLUSTER_PEERS    the other members' cluster multiaddrs, /ip4/IP/tcp/9096/p2p/PEER_ID, spaced
set -euo pipefail
export IPFS_PATH=${IPFS_PATH:-/var/lib/ipfs} IPFS_CLUSTER_PATH=${IPFS_CLUSTER_PATH:-/var/lib/ipfs-cluster}

# Kubo: server profile (no local-network discovery), private swarm, no public bootstrap.
ipfs init --profile server
install -m 0600 "$SWARM_KEY_FILE" "$IPFS_PATH/swarm.key"
ipfs bootstrap rm --all
for peer in $MEMBER_PEERS; do ipfs bootstrap add "$peer"; done
# Stay connected to every member, so Bitswap finds another member's documents at once.
peering='[]'
for peer in $MEMBER_PEERS; do
  peering=$(jq --arg a "${peer%/p2p/*}" --arg id "${peer##*/p2p/}" '. + [{"ID": $id, "Addrs": [$a]}]' <<<"$peering")
done
ipfs config --json Peering.Peers "$peering"
# The RPC API can add and delete content: localhost only. No public gateway.
ipfs config Addresses.API /ip4/127.0.0.1/tcp/5001
ipfs config Addresses.Gateway /ip4/127.0.0.1/tcp/8080
ipfs config --json Swarm.RelayClient.Enabled false
ipfs config --json Swarm.RelayService.Enabled false

# IPFS Cluster: CRDT consensus, only the consortium's peers trusted, pins on every member.
CLUSTER_SECRET=$CLUSTER_SECRET ipfs-cluster-service init --consensus crdt
config="$IPFS_CLUSTER_PATH/service.json"
jq --arg trusted "$TRUSTED_PEERS" '
    .consensus.crdt.trusted_peers = ($trusted | split(","))
  | .cluster.replication_factor_min = -1
  | .cluster.replication_factor_max = -1
  | .api.restapi.http_listen_multiaddress = "/ip4/127.0.0.1/tcp/9094"
  | .api.ipfsproxy.listen_multiaddress = "/ip4/127.0.0.1/tcp/9095"
  | .api.ipfsproxy.node_multiaddress = "/ip4/127.0.0.1/tcp/5001"
  | .ipfs_connector.ipfshttp.node_multiaddress = "/ip4/127.0.0.1/tcp/5001"
' "$config" > "$config.new" && mv "$config.new" "$config"
printf '%s\n' $CLUSTER_PEERS > "$IPFS_CLUSTER_PATH/peerstore"
