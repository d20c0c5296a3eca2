namespace Tiered.Security.Authorization;

/// <summary>
/// What a role name may be. A role is whatever the token's subject says, so almost anything goes; what is
/// refused would only ever be a mistake: nothing, blanks around it (a role that no token can carry once
/// trimmed by a shell), control characters, or more than fits a path segment comfortably.
/// </summary>
public static class AuthNames
{
    public const int MaxRoleLength = 256;

    /// <summary>Null when <paramref name="role"/> is a valid role name, else why not (for a 400's reason).</summary>
    public static string? RoleProblem(string? role)
    {
        if (string.IsNullOrWhiteSpace(role))
            return "a role name must not be empty";
        if (role.Length > MaxRoleLength)
            return $"a role name has at most {MaxRoleLength} characters";
        if (char.IsWhiteSpace(role[0]) || char.IsWhiteSpace(role[^1]))
            return "a role name must not start or end with blanks";
        if (role.Any(char.IsControl))
            return "a role name must not contain control characters";
        return null;
    }

    public static bool IsValidRole(string? role) => RoleProblem(role) is null;
}
