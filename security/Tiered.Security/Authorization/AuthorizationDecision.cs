namespace Tiered.Security.Authorization;

/// <summary>
/// The answer of the <see cref="Authorizer"/>: allowed or not, and why, in words a 403 / PermissionDenied can
/// carry as they are: the role, the action it lacks and where it could be granted. Never a secret: only names.
/// </summary>
/// <param name="Role">The role asked about (null: a request without one).</param>
/// <param name="MissingAction">On a refusal, what the role lacks ("produce", "consume", "produce or consume", "tenant admin"); null when allowed.</param>
public readonly record struct AuthorizationDecision(bool IsAllowed, string? Role, string? MissingAction, string Reason)
{
    public static AuthorizationDecision Allow(string? role, string reason) => new(true, role, null, reason);

    public static AuthorizationDecision Deny(string? role, string missingAction, string reason) => new(false, role, missingAction, reason);

    public override string ToString() => Reason;
}
