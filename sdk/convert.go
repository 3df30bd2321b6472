package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	pluginv1 "github.com/hawatch/hawatch/sdk/proto/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Conversions between the public Go types and the wire types. They live in
// one place so a new field is added once for both directions.

func infoToProto(i Info) *pluginv1.InfoResponse {
	return &pluginv1.InfoResponse{Name: i.Name, Kind: string(i.Kind), Version: i.Version}
}

func infoFromProto(p *pluginv1.InfoResponse) Info {
	return Info{Name: p.GetName(), Kind: Kind(p.GetKind()), Version: p.GetVersion()}
}

func schemaToProto(s Schema) (*pluginv1.Schema, error) {
	out := &pluginv1.Schema{}
	for _, a := range s.Attributes {
		pa := &pluginv1.Attribute{
			Name:        a.Name,
			Type:        string(a.Type),
			Required:    a.Required,
			Description: a.Description,
			Min:         a.Min,
			Max:         a.Max,
			NonEmpty:    a.NonEmpty,
			OneOf:       a.OneOf,
			Pattern:     a.Pattern,
		}
		if a.Default != nil {
			b, err := json.Marshal(a.Default)
			if err != nil {
				return nil, fmt.Errorf("schema attribute %q: default: %w", a.Name, err)
			}
			pa.DefaultJson = b
		}
		out.Attributes = append(out.Attributes, pa)
	}
	for _, b := range s.Blocks {
		inner, err := schemaToProto(b.Schema)
		if err != nil {
			return nil, fmt.Errorf("schema block %q: %w", b.Name, err)
		}
		out.Blocks = append(out.Blocks, &pluginv1.BlockSchema{Name: b.Name, Required: b.Required, Schema: inner})
	}
	for _, r := range s.Rules {
		out.Rules = append(out.Rules, &pluginv1.Rule{Op: string(r.Op), Attrs: r.Attrs, ZeroUnset: r.ZeroUnset})
	}
	return out, nil
}

func schemaFromProto(p *pluginv1.Schema) (Schema, error) {
	var s Schema
	for _, pa := range p.GetAttributes() {
		a := Attribute{
			Name:        pa.GetName(),
			Type:        Type(pa.GetType()),
			Required:    pa.GetRequired(),
			Description: pa.GetDescription(),
			Min:         pa.Min,
			Max:         pa.Max,
			NonEmpty:    pa.GetNonEmpty(),
			OneOf:       pa.GetOneOf(),
			Pattern:     pa.GetPattern(),
		}
		if len(pa.GetDefaultJson()) > 0 {
			if err := json.Unmarshal(pa.GetDefaultJson(), &a.Default); err != nil {
				return Schema{}, fmt.Errorf("schema attribute %q: default: %w", a.Name, err)
			}
			// JSON has no list(string) type: keep the declared Go shape.
			if list, ok := a.Default.([]any); ok {
				strs := make([]string, 0, len(list))
				for _, v := range list {
					s, ok := v.(string)
					if !ok {
						return Schema{}, fmt.Errorf("schema attribute %q: default list holds %T, want string", a.Name, v)
					}
					strs = append(strs, s)
				}
				a.Default = strs
			}
		}
		s.Attributes = append(s.Attributes, a)
	}
	for _, pb := range p.GetBlocks() {
		inner, err := schemaFromProto(pb.GetSchema())
		if err != nil {
			return Schema{}, fmt.Errorf("schema block %q: %w", pb.GetName(), err)
		}
		s.Blocks = append(s.Blocks, BlockSchema{Name: pb.GetName(), Required: pb.GetRequired(), Schema: inner})
	}
	for _, r := range p.GetRules() {
		s.Rules = append(s.Rules, Rule{Op: RuleOp(r.GetOp()), Attrs: r.GetAttrs(), ZeroUnset: r.GetZeroUnset()})
	}
	return s, nil
}

func statusToProto(s Status) pluginv1.Status {
	switch s {
	case StatusOK:
		return pluginv1.Status_STATUS_OK
	case StatusFail:
		return pluginv1.Status_STATUS_FAIL
	default:
		return pluginv1.Status_STATUS_UNKNOWN
	}
}

func statusFromProto(s pluginv1.Status) Status {
	switch s {
	case pluginv1.Status_STATUS_OK:
		return StatusOK
	case pluginv1.Status_STATUS_FAIL:
		return StatusFail
	default:
		return StatusUnknown
	}
}

func resultToProto(r Result) *pluginv1.Result {
	return &pluginv1.Result{
		Status:     statusToProto(r.Status),
		Reason:     r.Reason,
		ObservedAt: timestamppb.New(r.ObservedAt),
		Detail:     r.Detail,
	}
}

func resultFromProto(p *pluginv1.Result) Result {
	r := Result{
		Status: statusFromProto(p.GetStatus()),
		Reason: p.GetReason(),
		Detail: p.GetDetail(),
	}
	if p.GetObservedAt() != nil {
		r.ObservedAt = p.GetObservedAt().AsTime()
	}
	return r
}

func transitionToProto(t Transition) *pluginv1.Transition {
	p := &pluginv1.Transition{
		Instance:     t.Instance,
		Group:        t.Group,
		From:         t.From,
		To:           t.To,
		Priority:     int32(t.Priority),
		Reason:       t.Reason,
		FencingToken: t.FencingToken,
	}
	if !t.At.IsZero() {
		p.At = timestamppb.New(t.At)
	}
	return p
}

func transitionFromProto(p *pluginv1.Transition) Transition {
	t := Transition{
		Instance:     p.GetInstance(),
		Group:        p.GetGroup(),
		From:         p.GetFrom(),
		To:           p.GetTo(),
		Priority:     int(p.GetPriority()),
		Reason:       p.GetReason(),
		FencingToken: p.GetFencingToken(),
	}
	if p.GetAt() != nil {
		t.At = p.GetAt().AsTime()
	}
	return t
}

// fillObserved stamps a result the plugin left undated.
func fillObserved(r Result, now time.Time) Result {
	if r.ObservedAt.IsZero() {
		r.ObservedAt = now
	}
	return r
}

func grantToProto(g Grant) *pluginv1.Grant {
	return &pluginv1.Grant{Instance: g.Instance, State: pluginv1.GrantState(g.State), Holder: g.Holder,
		ValidFor: durationpb.New(g.ValidFor), Revision: g.Revision, Reason: g.Reason, SentBoottimeNs: boottime()}
}

// grantFromProto maps an unknown state (a newer plugin) to GrantUnknown,
// which the host treats as "no right".
func grantFromProto(p *pluginv1.Grant) Grant {
	st := GrantState(p.GetState())
	if st < GrantUnknown || st > GrantUnreachable {
		st = GrantUnknown
	}
	g := Grant{Instance: p.GetInstance(), State: st, Holder: p.GetHolder(), ValidFor: p.GetValidFor().AsDuration(),
		Revision: p.GetRevision(), Reason: p.GetReason()}
	if sent, now := p.GetSentBoottimeNs(), boottime(); sent > 0 && now > 0 {
		// What the grant spent in transit (a stopped host reads it late)
		// is no longer valid.
		g.ValidFor = max(g.ValidFor-time.Duration(max(now-sent, 0)), 0)
	}
	return g
}
